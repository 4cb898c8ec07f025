// The web client: a page per hash route (#/login, #/debts, #/debts/{id}, #/plan, #/progress, #/summary,
// #/settings), each drawn from the API's answers. Plain ES modules, no build step.

import { call, clearErrors, configure, session, showError } from "./api.js";
import { lineChart } from "./chart.js";

const main = document.getElementById("main");

/** An element with attributes and children; text children are text nodes, never HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** A labelled input: the label names it, so every field is announced. */
function field(label, name, attributes = {}) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const input = attributes.options
    ? h("select", { id, name }, attributes.options.map(([value, text]) =>
      h("option", { value, selected: value === attributes.value }, text)))
    : h("input", { id, name, ...attributes });
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

/** A form whose submit calls `send(values)`; a refusal is shown beside the fields it names. */
function form(id, title, fields, button, send) {
  const element = h("form", { id, novalidate: true },
    title ? h("h2", {}, title) : null,
    h("p", { class: "form-error", role: "alert", tabindex: "-1", hidden: true }),
    fields,
    h("button", { type: "submit" }, button));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    const values = Object.fromEntries(new FormData(element).entries());
    for (const [name, value] of Object.entries(values)) if (value === "") delete values[name];
    try {
      await send(values, element);
    } catch (error) {
      showError(element, error);
    }
  });
  return element;
}

function page(title, ...children) {
  document.title = `${title} · Debts`;
  main.replaceChildren(h("h1", { tabindex: "-1" }, title), ...children.filter(Boolean));
  main.querySelector("h1").focus();
}

function money(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString(undefined,
    { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A table in a region of its own that scrolls sideways on a narrow screen (focusable, so the keyboard can). */
function table(caption, headers, rows) {
  return h("div", { class: "table-scroll", role: "region", tabindex: "0", "aria-label": caption }, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell)))))));
}

function today() {
  return new Date().toISOString().slice(0, 10);
}

// Register and log in.
function loginPage(query) {
  const login = form("login", "Log in", [
    field("Username", "username", { autocomplete: "username", required: true }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
  ], "Log in", async (values) => {
    const answer = await call("POST", "/login", { body: values });
    session.start(values.username.toLowerCase(), answer.body.token);
    location.hash = "#/debts";
  });
  const register = form("register", "New here? Register", [
    field("Username", "username", { autocomplete: "username", required: true }),
    field("Email", "email", { type: "email", autocomplete: "email", required: true }),
    field("Full name", "full_name", { autocomplete: "name", required: true }),
    field("Password (at least 12 characters)", "password", { type: "password", autocomplete: "new-password" }),
  ], "Register", async (values) => {
    await call("POST", "/users", { body: values });
    const answer = await call("POST", "/login", { body: { username: values.username, password: values.password } });
    session.start(values.username.toLowerCase(), answer.body.token);
    location.hash = "#/debts";
  });
  const expired = query.get("expired")
    ? h("p", { class: "notice", role: "status" }, "Your session ended: please log in again.") : null;
  page("Debts", expired, h("div", { class: "columns" }, login, register));
}

// The debts, with add, edit and delete.
const FREQUENCIES = [["monthly", "Monthly"], ["weekly", "Weekly"], ["biweekly", "Every two weeks"],
  ["quarterly", "Quarterly"], ["annually", "Yearly"]];

function debtFields(debt = {}) {
  return [
    field("Name", "debt_name", { value: debt.debt_name ?? "", required: true }),
    field("Principal", "principal", { inputmode: "decimal", value: debt.principal ?? "" }),
    field("Current balance", "current_balance", { inputmode: "decimal", value: debt.current_balance ?? "" }),
    field("Interest rate (% a year)", "interest_rate", { inputmode: "decimal", value: debt.interest_rate ?? "" }),
    field("Minimum payment", "minimum_payment", { inputmode: "decimal", value: debt.minimum_payment ?? "" }),
    field("Start date", "start_date", { type: "date", value: debt.start_date ?? "" }),
    field("Payment frequency", "payment_frequency", { options: FREQUENCIES, value: debt.payment_frequency ?? "monthly" }),
  ];
}

async function debtsPage() {
  const answer = await call("GET", "/debts?limit=100");
  const rows = answer.body.data.map((d) => [
    h("a", { href: `#/debts/${d.debt_id}` }, d.debt_name),
    d.status.replace("_", " "),
    money(d.current_balance),
    `${d.current_rate ?? d.interest_rate} %`,
    money(d.minimum_payment),
    d.next_due_on ?? "—",
    h("span", { class: "actions" },
      h("button", { type: "button", onclick: () => editDebt(d) }, "Edit", h("span", { class: "sr" }, ` ${d.debt_name}`)),
      h("button", { type: "button", class: "danger", onclick: () => deleteDebt(d) }, "Delete",
        h("span", { class: "sr" }, ` ${d.debt_name}`))),
  ]);
  const add = form("add-debt", "Add a debt", debtFields(), "Add the debt", async (values) => {
    await call("POST", "/debts", { body: values });
    await debtsPage();
  });
  page("Your debts",
    h("p", { class: "status", role: "status", id: "debts-status" }),
    rows.length ? table("Your debts", ["Name", "Status", "Balance", "Rate", "Minimum", "Next due", ""], rows)
      : h("p", {}, "No debts yet: add your first below."),
    h("div", { id: "editor" }),
    add);
}

function conflict(error) {
  return error.status === 412 ? "This debt changed elsewhere: reload to see it." : error.message;
}

function editDebt(debt) {
  const editor = document.getElementById("editor");
  const edit = form("edit-debt", `Edit ${debt.debt_name}`, debtFields(debt), "Save", async (values) => {
    try {
      await call("PUT", `/debts/${debt.debt_id}`, { body: values, headers: { "If-Match": `"${debt.version}"` } });
    } catch (error) {
      error.message = conflict(error);
      throw error;
    }
    await debtsPage();
  });
  editor.replaceChildren(edit);
  edit.querySelector("input").focus();
}

async function deleteDebt(debt) {
  if (!confirm(`Delete ${debt.debt_name}? Its history is kept.`)) return;
  const status = document.getElementById("debts-status");
  try {
    await call("DELETE", `/debts/${debt.debt_id}`, { headers: { "If-Match": `"${debt.version}"` } });
    await debtsPage();
  } catch (error) {
    status.textContent = conflict(error);
  }
}

// One debt: its history and the forms that move its balance.
function describe(entry) {
  if (entry.changes) {
    return Object.entries(entry.changes).map(([name, c]) => `${name}: ${c.from ?? "—"} → ${c.to ?? "—"}`).join("; ");
  }
  if (entry.data && entry.data.amount) return `${money(entry.data.amount)}${entry.data.kind ? ` (${entry.data.kind})` : ""}`;
  if (entry.data && entry.data.statement_balance) return `statement of ${money(entry.data.statement_balance)}`;
  return "";
}

async function debtPage(id) {
  const [debt, history] = await Promise.all([call("GET", `/debts/${id}`), call("GET", `/debts/${id}/history?limit=100`)]);
  const d = debt.body.data;
  const rows = history.body.data.map((e) => [
    e.effective_on ?? "", e.occurred_at.slice(0, 16).replace("T", " "), e.actor,
    e.event_type.replace(/([a-z])([A-Z])/g, "$1 $2"), describe(e),
    e.balance ? money(e.balance.before) : "", e.balance ? money(e.balance.after) : "",
  ]);
  const refresh = () => debtPage(id);
  const payment = form("payment", "Record a payment", [
    field("Amount", "amount", { inputmode: "decimal", required: true }),
    field("Paid on", "paid_on", { type: "date", value: today() }),
  ], "Record the payment", async (values) => {
    await call("POST", `/debts/${id}/payments`, { body: values });
    await refresh();
  });
  const charge = form("charge", "Add a charge", [
    field("Amount", "amount", { inputmode: "decimal", required: true }),
    field("Charged on", "charged_on", { type: "date", value: today() }),
    field("Kind", "kind", { options: [["interest", "Interest"], ["fee", "Fee"], ["purchase", "Purchase"]] }),
  ], "Add the charge", async (values) => {
    await call("POST", `/debts/${id}/charges`, { body: values });
    await refresh();
  });
  const statement = form("statement", "Record a statement", [
    field("Closing date", "closing_date", { type: "date" }),
    field("Statement balance", "statement_balance", { inputmode: "decimal" }),
    field("Minimum due", "minimum_due", { inputmode: "decimal" }),
    field("Due date", "due_date", { type: "date" }),
  ], "Record the statement", async (values) => {
    await call("POST", `/debts/${id}/statements`, { body: values });
    await refresh();
  });
  page(d.debt_name,
    h("p", {}, `Balance ${money(d.current_balance)} at ${d.current_rate ?? d.interest_rate} %, ${d.status.replace("_", " ")}`,
      d.next_due_on ? `; next due ${d.next_due_on} (${money(d.minimum_due)})` : ""),
    table("History", ["Effective", "Recorded", "Who", "What", "Details", "Balance before", "Balance after"], rows),
    h("div", { class: "columns" }, payment, charge, statement));
}

// The planner: strategies compared, charted, downloadable, adoptable.
async function planPage() {
  const planner = form("planner", null, [
    field("Monthly budget", "monthly_budget", { inputmode: "decimal", required: true }),
    field("Strategy", "strategy", { options: [["avalanche", "Avalanche: highest rate first"], ["snowball", "Snowball: smallest balance first"]] }),
  ], "Compare", async (values) => showPlans(values));
  page("Plan your payoff", planner, h("div", { id: "plans" }));
}

async function plan(values, strategy) {
  const query = new URLSearchParams({ monthly_budget: values.monthly_budget, strategy, include: "schedule" });
  return call("GET", `/users/${session.username}/payoff-plan?${query}`);
}

/** The `count` months from `start` (`YYYY-MM`), as `YYYY-MM`. */
function monthsFrom(start, count) {
  const [year, month] = start.split("-").map(Number);
  return Array.from({ length: count }, (_, i) => {
    const date = new Date(Date.UTC(year, month - 1 + i, 1));
    return date.toISOString().slice(0, 7);
  });
}

async function showPlans(values) {
  const target = document.getElementById("plans");
  const chosen = (await plan(values, values.strategy || "avalanche")).body.data;
  const compare = chosen.compare;
  const row = (name, p) => [name, p.debt_free ? String(p.months) : "never", money(p.total_interest), p.debt_free_on ?? "—"];
  const curves = [["Avalanche", compare.avalanche], ["Snowball", compare.snowball], ["Minimums only", compare.minimum_only]];
  // Each curve is the total at each month's end from the plan's first month; a shorter one stays at zero.
  const length = Math.max(...curves.map(([, p]) => p.balances.length));
  const months = monthsFrom(chosen.start, length);
  const chart = h("div", { class: "chart", id: "plan-chart", role: "img",
    "aria-label": `Total balance by month: avalanche is debt-free in ${compare.avalanche.debt_free_on ?? "never"}, snowball in ${compare.snowball.debt_free_on ?? "never"}` });
  const adopt = h("button", { type: "button", onclick: async () => {
    const status = document.getElementById("adopt-status");
    try {
      const answer = await call("PUT", `/users/${session.username}/plan`, { body: values });
      status.textContent = `Adopted: debt-free by ${answer.body.data.debt_free_on}.`;
    } catch (error) {
      status.textContent = error.message;
    }
  } }, "Adopt this plan");
  const csv = h("button", { type: "button", onclick: async () => {
    const query = new URLSearchParams({ monthly_budget: values.monthly_budget, strategy: values.strategy || "avalanche" });
    const answer = await call("GET", `/users/${session.username}/payoff-plan?${query}`, { headers: { Accept: "text/csv" }, raw: true });
    const link = h("a", { href: URL.createObjectURL(new Blob([answer.body], { type: "text/csv" })), download: "payoff-plan.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  } }, "Download the schedule (CSV)");
  target.replaceChildren(
    table("Strategies compared", ["Strategy", "Months", "Interest", "Debt-free"], [
      row("Avalanche", compare.avalanche), row("Snowball", compare.snowball), row("Minimums only", compare.minimum_only)]),
    chart,
    h("div", { class: "actions" }, adopt, csv),
    h("p", { id: "adopt-status", role: "status" }),
    table("Schedule", ["Month", "Debt", "Interest", "Payment", "Balance"],
      chosen.schedule.slice(0, 240).map((r) => [r.on, r.debt_id.slice(0, 8), money(r.interest), money(r.payment), money(r.balance)])));
  lineChart(chart, "Total balance", months, curves.map(([label, p]) => ({
    label, values: p.balances.map(Number).concat(Array(length).fill(0)).slice(0, length) })));
}

// Progress against the adopted plan.
async function progressPage() {
  const answer = await call("GET", `/users/${session.username}/progress`);
  const data = answer.body.data;
  const months = data.months.map((m) => m.month);
  const chart = h("div", { class: "chart", id: "progress-chart", role: "img",
    "aria-label": `Total balance from ${data.from} to ${data.to}` });
  const ahead = (m) => (m.ahead_by ? `${money(m.ahead_by.amount)} (${m.ahead_by.months} months)` : "—");
  page("Your progress",
    data.plan_adopted ? null : h("p", { class: "notice" }, "Adopt a plan to measure your progress against it."),
    chart,
    table("Month by month", ["Month", "Total balance", "Paid", "Interest", "Fees", "Planned", "Ahead by"],
      data.months.map((m) => [m.month, money(m.total_balance), money(m.paid), money(m.interest), money(m.fees),
        money(m.planned_total), ahead(m)])));
  const series = [{ label: "Actual", values: data.months.map((m) => Number(m.total_balance)) }];
  if (data.plan_adopted) {
    series.push({ label: "Planned", values: data.months.map((m) => (m.planned_total === null ? null : Number(m.planned_total))) });
  }
  lineChart(chart, "Total balance", months, series);
}

async function summaryPage() {
  const s = (await call("GET", `/users/${session.username}/summary`)).body.data;
  page("Summary", table("Your figures", ["Figure", "Value"], [
    ["Open debts", String(s.open_debts)], ["Total balance", money(s.total_current_balance)],
    ["Weighted rate", `${s.weighted_average_interest_rate} %`], ["Interest this month (estimate)", money(s.estimated_monthly_interest)],
    ["Paid in all", money(s.total_paid)], ["Paid in the last 30 days", money(s.paid_last_30_days)],
    ["Overdue debts", String(s.overdue_debts)]]));
}

function settingsPage() {
  const erase = form("erase", "Erase your account", [
    h("p", {}, "This erases your personal data for good. Confirm with your password."),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
  ], "Erase my account", async (values) => {
    await call("DELETE", `/users/${session.username}`, { body: values });
    session.end();
    location.hash = "#/login";
  });
  page("Settings", h("p", {}, `Signed in as ${session.username}.`), erase);
}

const ROUTES = [
  [/^#\/debts\/([0-9a-f-]{36})$/, debtPage],
  [/^#\/debts$/, debtsPage],
  [/^#\/plan$/, planPage],
  [/^#\/progress$/, progressPage],
  [/^#\/summary$/, summaryPage],
  [/^#\/settings$/, settingsPage],
];

async function route() {
  const [path, search] = (location.hash || "#/debts").split("?");
  const query = new URLSearchParams(search || "");
  document.body.classList.toggle("signed-in", Boolean(session.token));
  if (!session.token || path === "#/login") return loginPage(query);
  for (const [pattern, show] of ROUTES) {
    const match = path.match(pattern);
    if (match) {
      try {
        await show(...match.slice(1));
      } catch (error) {
        page("Something went wrong", h("p", { role: "alert" }, error.message));
      }
      return;
    }
  }
  location.hash = "#/debts";
}

document.getElementById("logout").addEventListener("click", () => {
  session.end();
  location.hash = "#/login";
});
window.addEventListener("hashchange", route);
await configure();
await route();
