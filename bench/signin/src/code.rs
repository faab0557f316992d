//! The emailed-code step, for a sample of the flows a run signed in (untimed, after the
//! run): each code is read from the server's outbox folder (the embedded default's mail) and
//! typed in as a person would. A code that lets the person on leaves the code page.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use reqwest::Client;

use crate::measure::Landed;
use crate::page::Form;
use crate::prepare::{Prepared, absolute, get_page, location, post};

/// Tries `sample` of the `landed` flows, spread over the run; answers (tried, let in).
pub async fn complete(
    http: &Client,
    base: &str,
    flows: &[Prepared],
    landed: &[Landed],
    (outbox, sample): (&Path, usize),
) -> Result<(usize, usize), String> {
    if sample == 0 || landed.is_empty() {
        return Ok((0, 0));
    }
    let codes = newest_codes(outbox)?;
    let step = (landed.len() / sample).max(1);
    let (mut tried, mut ok) = (0, 0);
    for l in landed.iter().step_by(step).take(sample) {
        let flow = flows
            .get(l.flow)
            .ok_or("a landed flow that was not prepared")?;
        let code = codes
            .get(&flow.user.to_ascii_lowercase())
            .ok_or_else(|| format!("no emailed code for {} in {}", flow.user, outbox.display()))?;
        let own;
        let client = match flow.source {
            Some(source) => {
                own = crate::source::client(Some(source))?;
                &own
            }
            None => http,
        };
        let mut jar = l.jar.clone();
        let (at, page) = get_page(client, base, &absolute(base, &l.location), &mut jar).await?;
        let form = Form::first_of(&page).ok_or_else(|| format!("{at}: no code form"))?;
        let mut fields = form.hidden;
        fields.push(("code".to_owned(), code.clone()));
        let response = post(client, &absolute(base, &form.action), &fields, &jar).await?;
        tried += 1;
        let status = response.status().as_u16();
        let to = location(&response);
        let body = response.text().await.unwrap_or_default();
        // On: a redirect away from the code page, or the next step's page in place (the
        // first sign-in's "save your backup code" page is answered directly).
        let on = match status {
            303 => to.as_deref().is_some_and(|to| !to.contains("/login/code")),
            200 => !body.contains("name=\"code\"") && !body.contains("error-message"),
            _ => false,
        };
        if on {
            ok += 1;
        } else {
            let error = body
                .split("class=\"error-message\"")
                .nth(1)
                .map(|rest| rest.chars().take(160).collect::<String>())
                .unwrap_or_default();
            eprintln!(
                "bench-signin: the code for {} answered {status} {to:?}: {error}",
                flow.user
            );
        }
    }
    Ok((tried, ok))
}

/// Each recipient's newest six-digit code in the outbox (file names start with the time).
fn newest_codes(outbox: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut names: Vec<_> = std::fs::read_dir(outbox)
        .map_err(|e| format!("{}: {e}", outbox.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    let mut codes = BTreeMap::new();
    for path in names {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some((to, code)) = recipient_and_code(&text) {
            codes.insert(to, code);
        }
    }
    Ok(codes)
}

fn recipient_and_code(message: &str) -> Option<(String, String)> {
    let (head, body) = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    };
    let to = header("To")?;
    let to = match (to.rfind('<'), to.rfind('>')) {
        (Some(open), Some(close)) if open < close => &to[open + 1..close],
        _ => to,
    }
    .to_ascii_lowercase();
    // lettre picks the transfer encoding by content.
    let text = match header("Content-Transfer-Encoding").map(str::to_ascii_lowercase) {
        Some(e) if e == "base64" => {
            let joined: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .ok()?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Some(e) if e == "quoted-printable" => body.replace("=\r\n", "").replace("=\n", ""),
        _ => body.to_owned(),
    };
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)?
        .to_owned();
    Some((to, code))
}

#[cfg(test)]
mod tests {
    use super::recipient_and_code;

    #[test]
    fn the_recipient_and_the_code_come_from_the_message() {
        let eml = "From: Lanyard <no-reply@example.com>\r\nTo: Bench-0001@bench.test\r\n\
                   Subject: Your code\r\n\r\nYour code is 042917.\r\nIt expires in 10 minutes.\r\n";
        assert_eq!(
            recipient_and_code(eml),
            Some(("bench-0001@bench.test".to_owned(), "042917".to_owned()))
        );
        assert_eq!(
            recipient_and_code("To: a@b\r\n\r\nno code here 12345"),
            None
        );
        // "Your code is 123456" in base64, to a named mailbox.
        let b64 = "To: Ann <ann@x.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                   WW91ciBjb2RlIGlzIDEyMzQ1Ng==\r\n";
        assert_eq!(
            recipient_and_code(b64),
            Some(("ann@x.test".to_owned(), "123456".to_owned()))
        );
    }
}
