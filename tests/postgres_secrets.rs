//! A PostgreSQL password stays off command lines: `anneal tune --jobs N` hands the storage URL
//! to its workers on their standard input, so neither `ps` nor a trial's program reading its
//! parent's `/proc/PID/cmdline` sees it; and a URL without a password takes it from
//! `PGPASSWORD` or a password file, as `psql` does.

#[path = "../crates/anneal-tune/tests/support/pg.rs"]
mod pg;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "s3cret-Pw-91";

/// A trial that writes what it can see of its parent (the worker) and of itself.
const SPY: &str = r#"
import os, sys
parent = os.getppid()
seen = open(f"/proc/{parent}/cmdline", "rb").read().replace(b"\0", b" ")
seen += b"\n" + open(f"/proc/{parent}/environ", "rb").read().replace(b"\0", b"\n")
seen += b"\n" + "\n".join(f"{k}={v}" for k, v in os.environ.items()).encode()
open(os.path.join(os.environ["ANNEAL_TRIAL_DIR"], "seen.txt"), "wb").write(seen)
print("anneal: value", float(sys.argv[1]))
"#;

fn anneal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_anneal"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the anneal binary runs")
}

#[test]
fn a_password_never_reaches_a_command_line_and_comes_from_the_environment() {
    let Some(server) = pg::PgServer::start("postgres_secrets") else {
        return;
    };
    server.require_password(PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spy.py"), SPY).unwrap();
    std::fs::write(
        dir.path().join("spy.sweep.toml"),
        format!(
            "study = \"spy\"\nstorage = \"{}\"\ncommand = [\"python3\", \"spy.py\", \"{{x}}\"]\n\
             trials = 4\nsampler = {{ kind = \"random\" }}\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
            server.url_with_password(PASSWORD)
        ),
    )
    .unwrap();
    let tuned = anneal(dir.path(), &["tune", "spy.sweep.toml", "--jobs", "2"], &[]);
    let text = String::from_utf8_lossy(&tuned.stdout);
    assert!(
        tuned.status.success() && text.contains("4 trials (4 complete"),
        "{text}\n{}",
        String::from_utf8_lossy(&tuned.stderr)
    );
    for trial in 0..4 {
        let seen =
            std::fs::read_to_string(dir.path().join(format!("runs/spy/trial-{trial}/seen.txt")))
                .unwrap();
        // The spy read its parent, a worker, for real.
        assert!(seen.contains("tune") && seen.contains("--worker"), "{seen}");
        assert!(
            !seen.contains(PASSWORD),
            "trial {trial} saw the password:\n{seen}"
        );
    }

    // No password in the URL: refused without one, let in with PGPASSWORD or a password file.
    let bare = server.url();
    let list = ["study", "--storage", bare.as_str(), "list"];
    let refused = anneal(dir.path(), &list, &[]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("password") && !err.contains(PASSWORD), "{err}");
    let listed = anneal(dir.path(), &list, &[("PGPASSWORD", PASSWORD)]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("spy"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!("127.0.0.1:*:postgres:postgres:{PASSWORD}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let listed = anneal(
        dir.path(),
        &list,
        &[("PGPASSFILE", passfile.to_str().unwrap())],
    );
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("spy"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}
