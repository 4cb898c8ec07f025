//! The tests that run `debts-local` as its own process, one test binary: the end-to-end suite over HTTP, the
//! crash test, the OpenAPI document's examples, and the lag benchmark's own measure.

mod crash;
mod e2e;
mod lag;
mod notice_timer;
mod openapi;
mod support;
mod trust;
