//! `portcullis check`, `version` and `schema`, and config error reporting.

use std::process::Command;

use crate::support::{BIN, repo_root, temp_dir};

fn check(yaml: &str) -> (bool, String, String) {
    crate::support::check_config(&temp_dir("check").join("bad.yaml"), yaml)
}

#[test]
fn checks_every_example_config() {
    let examples = repo_root().join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&examples).expect("examples") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let out = Command::new(BIN)
                .args(["check", "--config"])
                .arg(&p)
                .output()
                .expect("run");
            assert!(
                out.status.success(),
                "{} failed: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 2, "expected the example configs");
}

#[test]
fn reports_every_error_with_file_line_and_key() {
    let yaml = "\
listeners:
  - name: main
    bind: not-an-address
upstreams:
  api:
    targets: [\"no-port\"]
routes:
  - name: a
    match:
      path: relative
    upstream: missing
  - name: a
    auth: none
    match:
      path_template: /users/{id}/{id}
    direct: {status: 999}
";
    let (ok, _, err) = check(yaml);
    assert!(!ok);
    let lines: Vec<&str> = err.lines().collect();
    let has = |line: usize, key: &str| {
        lines
            .iter()
            .any(|l| l.contains(&format!("bad.yaml:{line}: {key}:")))
    };
    assert!(has(3, "listeners[0].bind"), "{err}");
    assert!(has(6, "upstreams.api.targets[0]"), "{err}");
    assert!(has(10, "routes[0].match.path"), "{err}");
    assert!(has(11, "routes[0].upstream"), "{err}");
    assert!(has(12, "routes[1].name"), "{err}");
    assert!(has(15, "routes[1].match.path_template"), "{err}");
    assert!(has(16, "routes[1].direct.status"), "{err}");
    assert!(lines.len() >= 7, "{err}");
}

#[test]
fn reports_unknown_fields_and_bad_references_with_lines() {
    let (ok, _, err) = check("listeners:\n  - name: main\n    bind: 127.0.0.1:1\n    bnid: x\n");
    assert!(!ok);
    assert!(err.contains("bad.yaml:4"), "{err}");
    assert!(err.contains("bnid"), "{err}");

    let (ok, _, err) =
        check("listeners:\n  - name: main\n    bind: \"${env:PORTCULLIS_TEST_UNSET}\"\n");
    assert!(!ok);
    assert!(err.contains("bad.yaml:3"), "{err}");
    assert!(err.contains("PORTCULLIS_TEST_UNSET"), "{err}");
}

#[test]
fn accepts_env_defaults_and_file_references() {
    let dir = temp_dir("refs");
    std::fs::write(dir.join("value.txt"), "from-a-file\n").expect("write");
    let yaml = "\
listeners:
  - name: main
    bind: \"${env:PORTCULLIS_TEST_UNSET:-127.0.0.1:1}\"
routes:
  - name: r
    auth: none
    match:
      path_prefix: \"${env:PORTCULLIS_TEST_UNSET:-/api}\"
      methods: [\"${env:PORTCULLIS_TEST_UNSET:-GET}\"]
    direct:
      headers:
        x-secret: \"${file:value.txt}\"
";
    let path = dir.join("ok.yaml");
    std::fs::write(&path, yaml).expect("write");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prints_version_and_schema() {
    let out = Command::new(BIN).arg("version").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("portcullis "));
    let out = Command::new(BIN).arg("schema").output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema json");
    assert!(v["properties"]["listeners"].is_object());
}

#[test]
fn committed_schema_matches_the_types() {
    let out = Command::new(BIN).arg("schema").output().expect("run");
    let committed = std::fs::read_to_string(repo_root().join("docs/config.schema.json"))
        .expect("docs/config.schema.json is committed");
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "docs/config.schema.json is stale: run `cargo run -- schema > docs/config.schema.json`"
    );
}
