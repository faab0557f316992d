//! The timed part: prepared flows' password posts, `concurrency` at a time, until the time is
//! up or the flows run out (no new post starts after either; the ones in flight finish and
//! count). Each post is one request; a success is a 303 to the second step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde::Serialize;

use crate::page::Jar;
use crate::prepare::{Prepared, location, post};

/// What one timed run saw.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub label: String,
    pub concurrency: usize,
    pub prepared: usize,
    pub requests: usize,
    /// Posts answered with a 303 to the expected page.
    pub ok: usize,
    pub unexpected: usize,
    /// Answers by status (a 303 elsewhere than expected is `303-elsewhere`).
    pub statuses: BTreeMap<String, usize>,
    /// From the first post's start to the last answer.
    pub seconds: f64,
    /// Successful posts per second over `seconds`.
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Whether every prepared flow was posted (the run may have ended before its time).
    pub ran_out: bool,
    /// The sample of signed-in flows taken through the emailed-code step after the run
    /// (untimed), and how many of them it let in.
    pub codes_tried: usize,
    pub codes_ok: usize,
}

/// A flow whose password was right: where it went next, with its cookies then (for the
/// emailed-code step, `code::complete`).
#[derive(Debug, Clone)]
pub struct Landed {
    pub flow: usize,
    pub location: String,
    pub jar: Jar,
}

/// The run's settings.
pub struct Run<'a> {
    pub label: &'a str,
    pub password: String,
    pub concurrency: usize,
    pub seconds: f64,
    /// The path the 303 of a right password leads to (the second step).
    pub expect: &'a str,
}

/// Times the posts; each flow with a source address of its own posts from a client bound to
/// it (made before the clock starts).
pub async fn measure(
    http: &Client,
    flows: Vec<Prepared>,
    run: &Run<'_>,
) -> Result<(Outcome, Vec<Landed>), String> {
    let prepared = flows.len();
    let clients: Vec<Client> = flows
        .iter()
        .map(|f| match f.source {
            Some(source) => crate::source::client(Some(source)),
            None => Ok(http.clone()),
        })
        .collect::<Result<_, _>>()?;
    let clients = Arc::new(clients);
    let flows = Arc::new(flows);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(run.seconds);
    let mut tasks = Vec::new();
    for _ in 0..run.concurrency.max(1) {
        let (clients, flows, next) = (clients.clone(), flows.clone(), next.clone());
        let (password, expect) = (run.password.to_owned(), run.expect.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<(u64, String)> = Vec::new();
            let mut landed: Vec<Landed> = Vec::new();
            let mut last = start;
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (Some(flow), Some(http)) = (flows.get(i), clients.get(i)) else {
                    break;
                };
                let mut fields = flow.fields.clone();
                fields.push(("password".to_owned(), password.clone()));
                let t0 = Instant::now();
                let answer = match post(http, &flow.url, &fields, &flow.jar).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let to = location(&response);
                        let mut jar = flow.jar.clone();
                        jar.take(response.headers());
                        // Read to the end so the connection is reused.
                        let _ = response.bytes().await;
                        match (status, to) {
                            (303, Some(to)) if to.contains(&expect) => {
                                landed.push(Landed {
                                    flow: i,
                                    location: to,
                                    jar,
                                });
                                "ok".to_owned()
                            }
                            (303, _) => "303-elsewhere".to_owned(),
                            (status, _) => status.to_string(),
                        }
                    }
                    Err(_) => "error".to_owned(),
                };
                last = Instant::now();
                let micros = u64::try_from((last - t0).as_micros()).unwrap_or(u64::MAX);
                seen.push((micros, answer));
            }
            (seen, landed, last)
        }));
    }
    let mut all_landed = Vec::new();
    let mut latencies = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut end = start;
    for task in tasks {
        let Ok((seen, landed, last)) = task.await else {
            continue;
        };
        end = end.max(last);
        all_landed.extend(landed);
        for (micros, answer) in seen {
            latencies.push(micros);
            let key = if answer == "ok" {
                "303".to_owned()
            } else {
                answer
            };
            *statuses.entry(key).or_insert(0) += 1;
        }
    }
    let requests = latencies.len();
    let unexpected = requests - statuses.get("303").copied().unwrap_or(0);
    let ok = requests - unexpected;
    let seconds = (end - start).as_secs_f64();
    latencies.sort_unstable();
    all_landed.sort_by_key(|l| l.flow);
    let outcome = Outcome {
        label: run.label.to_owned(),
        concurrency: run.concurrency,
        prepared,
        requests,
        ok,
        unexpected,
        statuses,
        seconds,
        per_sec: if seconds > 0.0 {
            ok as f64 / seconds
        } else {
            0.0
        },
        p50_ms: quantile_ms(&latencies, 0.50),
        p99_ms: quantile_ms(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |m| *m as f64 / 1000.0),
        ran_out: requests >= prepared,
        codes_tried: 0,
        codes_ok: 0,
    };
    Ok((outcome, all_landed))
}

/// The nearest-rank quantile of sorted microseconds, in milliseconds.
fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::quantile_ms;

    #[test]
    fn quantiles_are_nearest_rank() {
        let ms: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&ms, 0.50), 50.0);
        assert_eq!(quantile_ms(&ms, 0.99), 99.0);
        assert_eq!(quantile_ms(&[7000], 0.99), 7.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }
}
