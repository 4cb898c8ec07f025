// The API client of the web client: one fetch wrapper that adds the bearer token, reads JSON and
// problem+json answers, and sends the person back to the login page when the token is refused.

const TOKEN = "debts.token";
const USER = "debts.username";

let base = "";

/** Reads `config.json` (on AWS it names the API's URL; locally the API is on the same origin). */
export async function configure() {
  try {
    const answer = await fetch("config.json", { cache: "no-store" });
    if (answer.ok) {
      const config = await answer.json();
      base = (config.api_url || "").replace(/\/$/, "");
    }
  } catch {
    base = "";
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  get username() { return sessionStorage.getItem(USER); },
  start(username, token) {
    sessionStorage.setItem(USER, username);
    sessionStorage.setItem(TOKEN, token);
  },
  end() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(USER);
  },
};

/** An answer that was not a success: the status, a readable message, and each field's own message. */
export class ApiError extends Error {
  constructor(status, message, fields) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

/** The readable message of a refused answer: a problem's detail, or API Gateway's own `message`. */
function refusal(status, body) {
  if (body && typeof body === "object") {
    const fields = {};
    for (const error of body.errors || []) {
      fields[error.field] = error.message;
    }
    const message = body.detail || body.message || body.title || `the server answered ${status}`;
    return new ApiError(status, message, fields);
  }
  return new ApiError(status, `the server answered ${status}`, {});
}

/**
 * Calls the API: `method` on `path` with an optional JSON `body` and extra `headers`. Answers
 * `{status, body, headers}`; throws an ApiError for any status of 400 or more. A refused token (401, 403
 * from the authorizer) ends the session and opens the login page.
 */
export async function call(method, path, { body, headers = {}, raw = false } = {}) {
  const sent = { ...headers };
  if (session.token) sent.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  const answer = await fetch(base + path, {
    method,
    headers: sent,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && answer.ok) return { status: answer.status, body: await answer.text(), headers: answer.headers };
  const type = answer.headers.get("content-type") || "";
  const parsed = type.includes("json") ? await answer.json().catch(() => null) : null;
  if (answer.status === 401 || (answer.status === 403 && parsed && parsed.message === "Forbidden")) {
    if (session.token && path !== "/login") {
      session.end();
      location.hash = "#/login?expired=1";
    }
  }
  if (answer.status >= 400) throw refusal(answer.status, parsed);
  return { status: answer.status, body: parsed, headers: answer.headers };
}

/** Shows `error` on `form`: each field's message beside its input, the rest at the form's top. */
export function showError(form, error) {
  clearErrors(form);
  const fields = (error && error.fields) || {};
  let placed = false;
  for (const [name, message] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    const note = document.createElement("p");
    note.className = "field-error";
    note.id = `${form.id || "form"}-${name}-error`;
    note.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.insertAdjacentElement("afterend", note);
    placed = true;
  }
  const summary = form.querySelector(".form-error");
  if (summary) {
    const unplaced = Object.entries(fields)
      .filter(([name]) => !form.querySelector(`[name="${CSS.escape(name)}"]`))
      .map(([name, message]) => `${name}: ${message}`);
    summary.textContent = placed && !unplaced.length ? "Please correct the fields marked below." :
      [error.message, ...unplaced].join(" ");
    summary.hidden = false;
    summary.focus();
  }
}

export function clearErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) note.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  const summary = form.querySelector(".form-error");
  if (summary) {
    summary.hidden = true;
    summary.textContent = "";
  }
}
