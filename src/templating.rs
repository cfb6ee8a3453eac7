//! User-written templates (incident notifications, calendar join details) rendered with limits:
//! a step budget (minijinja's fuel) and an output cap, so a template that loops or expands
//! without bound ends with an error naming the limit instead of holding a thread and memory.
//! Services render through [`render_off_runtime`]: on the blocking pool, at most
//! [`MAX_CONCURRENT_RENDERS`] at once, so even renders at their limits never stall the async
//! runtime that answers requests.

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use std::io::Write;

/// Steps one render may take: far above what a real template needs (a few hundred), far below
/// what makes a render noticeable.
pub const FUEL: u64 = 100_000;
/// The largest text one render may produce.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Renders running at once; more wait their turn (each is bounded by [`FUEL`], so the wait is short).
pub const MAX_CONCURRENT_RENDERS: usize = 4;

static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_RENDERS);

/// Runs `work` (which renders templates) on the blocking pool, holding one of the
/// [`MAX_CONCURRENT_RENDERS`] permits while it runs. `Err` only when the render could not run
/// to its end (a panic in it), with what happened.
pub async fn render_off_runtime<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
    let _permit = RENDERS.acquire().await.map_err(|_| "the renderer is closed".to_string())?;
    tokio::task::spawn_blocking(work).await.map_err(|e| format!("the render stopped: {e}"))
}

/// How values are written into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Plain text (SMS, speech, markdown): values as they are.
    Text,
    /// An HTML body: every value escaped.
    Html,
}

/// Renders `src` with `vars`: unknown variables are errors, and so is running past [`FUEL`]
/// steps or [`MAX_OUTPUT`] bytes (the message names the limit).
pub fn render(src: &str, vars: &impl Serialize, output: Output) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let escape = match output {
        Output::Text => AutoEscape::None,
        Output::Html => AutoEscape::Html,
    };
    env.set_auto_escape_callback(move |_| escape);
    let tmpl = env.template_from_str(src).map_err(|e| e.to_string())?;
    let mut out = Capped { buf: Vec::new(), over: false };
    let result = tmpl.render_captured_to(vars, &mut out).map(|_| ());
    match result {
        Ok(_) => String::from_utf8(out.buf).map_err(|e| e.to_string()),
        Err(_) if out.over => Err(format!("it writes more than {} KB (the limit)", MAX_OUTPUT / 1024)),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(format!("it takes more than {FUEL} steps (the limit): a loop too long?")),
        Err(e) => Err(e.to_string()),
    }
}

/// A writer that refuses to grow past [`MAX_OUTPUT`].
struct Capped {
    buf: Vec<u8>,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > MAX_OUTPUT {
            self.over = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "current_thread")]
    async fn renders_run_off_the_runtime_thread_so_other_tasks_go_on_meanwhile() {
        // On a one-thread runtime, a render on the runtime thread would hold the ticker until it
        // ended; off the runtime, the ticker keeps ticking while the renders at their limit run.
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let slow = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
        let renders = (0..MAX_CONCURRENT_RENDERS * 2).map(|_| {
            render_off_runtime(move || {
                let before = Instant::now();
                let r = render(slow, &(), Output::Text);
                // Hold the blocking thread a little longer so the ticker has time to tick.
                std::thread::sleep(Duration::from_millis(20).saturating_sub(before.elapsed()));
                r
            })
        });
        let results = futures::future::join_all(renders).await;
        ticker.abort();
        assert!(
            results.iter().all(|r| r.as_ref().is_ok_and(|r| r.as_ref().is_err_and(|e| e.contains("steps (the limit)")))),
            "{results:?}"
        );
        assert!(ticks.load(std::sync::atomic::Ordering::Relaxed) > 5, "the runtime thread was free while rendering");
    }

    #[test]
    fn a_template_that_loops_without_bound_ends_quickly_naming_the_step_limit() {
        let t = Instant::now();
        let err =
            render("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", &(), Output::Text).unwrap_err();
        assert!(err.contains("steps (the limit)"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(10), "ended by the limit, not by finishing");
    }

    #[test]
    fn a_template_that_expands_past_the_output_cap_is_refused_naming_it() {
        let err =
            render("{% for a in range(20000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}", &(), Output::Text).unwrap_err();
        assert!(err.contains("more than 64 KB"), "{err}");
        let err = render("{{ 'x' * 100000 }}", &(), Output::Text).unwrap_err();
        assert!(err.contains("more than 64 KB"), "{err}");
    }

    #[test]
    fn text_keeps_values_as_they_are_and_html_escapes_them() {
        #[derive(Serialize)]
        struct V {
            name: &'static str,
        }
        let v = V { name: "<b>&" };
        assert_eq!(render("Hi {{ name }}", &v, Output::Text).unwrap(), "Hi <b>&");
        assert_eq!(render("<p>{{ name }}</p>", &v, Output::Html).unwrap(), "<p>&lt;b&gt;&amp;</p>");
        assert!(render("{{ nope }}", &v, Output::Text).unwrap_err().contains("undefined"));
    }
}
