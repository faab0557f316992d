//! docs/admin-api.md cannot rot: its ```sh examples run, in order, as one bash script
//! (`set -euo pipefail`, curl and jq) against a real server on every backend, with the
//! variables the document names.

use lanyard_testkit::TestApp;

use crate::admin_api::{OPS, admin_secret};
use crate::helpers::{each_backend, pat_tool};

/// The ```sh blocks of the document, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == "```sh" => current = Some(String::new()),
            Some(block) if trimmed == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

async fn run_examples(app: &TestApp, script: &str, env: &[(&str, String)]) {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-c").arg(script).kill_on_drop(true);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("the examples finished")
        .unwrap();
    assert!(
        output.status.success(),
        "docs/admin-api.md examples failed against {}:\n{}\n{}",
        app.base_url,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn h4_the_admin_api_documents_curl_examples_run() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-api.md"),
    )
    .unwrap();
    let blocks = sh_blocks(&doc);
    assert!(blocks.len() >= 8, "{} sh blocks", blocks.len());
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    each_backend(|app| {
        let script = script.clone();
        async move {
            let secret = admin_secret(&app).await;
            app.create_client(pat_tool("doc-tool", "Docs tool")).await;
            let pat = crate::admin_api_refusals::admin_pat(&app).await;
            let state = &app.app.state;
            state
                .admin
                .admins
                .set_admin(
                    crate::admin_api_refusals::PERSON,
                    true,
                    &lanyard_core::Origin::cli(),
                )
                .await
                .unwrap();
            let env = [
                ("ISSUER", app.base_url.clone()),
                ("CLIENT_ID", OPS.to_owned()),
                ("CLIENT_SECRET", secret),
                ("TOOL_ID", "doc-tool".to_owned()),
                ("PAT", pat),
            ];
            run_examples(&app, &script, &env).await;
            app
        }
    })
    .await;
}
