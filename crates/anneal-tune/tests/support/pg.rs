//! A throwaway PostgreSQL server for a test: `initdb` into a temporary folder, `pg_ctl start`
//! on a free loopback port, stopped (and its folder removed) when dropped. Needs Debian's
//! `postgresql` package (`scripts/setup.sh` installs it); as root the server runs as the
//! `postgres` user, since PostgreSQL refuses to run as root.
//!
//! Where no server binaries exist the test is skipped with a message, unless
//! `ANNEAL_REQUIRE_POSTGRES` is set (the test script sets it), where their absence fails it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    run_as: Option<String>,
}

impl PgServer {
    /// A running server, or `None` (after saying why) where PostgreSQL is not installed.
    pub fn start(test: &str) -> Option<Self> {
        let Some(bin) = server_bin() else {
            if std::env::var_os("ANNEAL_REQUIRE_POSTGRES").is_some() {
                panic!(
                    "{test}: PostgreSQL's server binaries (initdb, pg_ctl) are not installed; run scripts/setup.sh"
                );
            }
            eprintln!(
                "SKIPPED {test}: no PostgreSQL server binaries (initdb, pg_ctl); install Debian's `postgresql`"
            );
            return None;
        };
        let run_as = is_root().then(|| "postgres".to_string());
        let dir = tempfile::Builder::new()
            .prefix("anneal-pg-")
            .tempdir()
            .expect("a temporary folder");
        if run_as.is_some() {
            // The server's user must own its folder (and reach it).
            let (uid, gid) =
                user_ids("postgres").expect("the postgres user (Debian's package makes it)");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let port = free_port();
        let server = Self {
            dir,
            bin,
            port,
            run_as,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        server.pg_ctl(&["start"]);
        Some(server)
    }

    /// The database URL tests connect to.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// From now on, connections over TCP (the tests' URLs) must give `password` for the
    /// `postgres` user; the server's own socket stays open without one for this setup.
    pub fn require_password(&self, password: &str) {
        let socket = self.dir.path().to_str().unwrap().to_string();
        let port = self.port.to_string();
        let set = format!("ALTER USER postgres PASSWORD '{password}'");
        self.run(
            "psql",
            &[
                "-h", &socket, "-p", &port, "-U", "postgres", "-d", "postgres", "-c", &set,
            ],
        );
        let hba = self.data().join("pg_hba.conf");
        std::fs::write(
            &hba,
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n",
        )
        .expect("writing pg_hba.conf");
        let data = self.data();
        self.run("pg_ctl", &["-D", data.to_str().unwrap(), "reload"]);
        // A reload is asynchronous: wait until a password-less TCP connection is refused.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let status = self
                .command("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-w",
                    "-c",
                    "SELECT 1",
                ])
                .env_remove("PGPASSWORD")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("psql runs");
            if !status.success() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server still takes connections without a password");
    }

    /// The database URL tests connect to, with a password.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgresql://postgres:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// Restarts the server (every connection is cut), as an operator's restart would.
    pub fn restart(&self) {
        self.pg_ctl(&["restart", "-m", "fast"]);
    }

    /// Stops the server at once (connections cut), leaving it stopped.
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast"]);
    }

    /// Starts a stopped server again.
    pub fn start_again(&self) {
        self.pg_ctl(&["start"]);
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, action: &[&str]) {
        let data = self.data();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let mut args = vec![
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-t",
            "60",
            "-o",
            &options,
        ];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }

    /// One of the server's programs, run as the server's user (a client such as `psql` may
    /// live elsewhere on the PATH than the server's programs).
    fn command(&self, program: &str) -> Command {
        let path = match self.bin.join(program) {
            path if path.is_file() => path,
            _ => PathBuf::from(program),
        };
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if !output.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{program} {args:?} failed: {}\n{}\nserver log:\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The folder holding `initdb` and `pg_ctl`: on the PATH, or Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn server_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
