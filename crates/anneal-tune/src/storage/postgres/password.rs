//! Where a password comes from when the URL has none, as libpq finds it: `PGPASSWORD`, then
//! the password file (`PGPASSFILE`, else `~/.pgpass`). The `postgres` crate reads neither (it
//! does not use libpq) and no maintained crate does, hence these few lines by hand, following
//! libpq's documented rules (<https://www.postgresql.org/docs/current/libpq-pgpass.html>).

use std::path::{Path, PathBuf};

use postgres::config::Host;

/// PostgreSQL's port when the URL names none.
const DEFAULT_PORT: u16 = 5432;

/// The password for `config` from the environment or the password file, if any.
pub(super) fn from_environment(config: &postgres::Config) -> Option<String> {
    if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Some(password);
    }
    let file = match std::env::var_os("PGPASSFILE") {
        Some(file) => PathBuf::from(file),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    from_file(&file, config)
}

/// The first line of password file `file` that matches `config`'s first host, port, database
/// and user. libpq ignores a file that others can read, and so does this.
fn from_file(file: &Path, config: &postgres::Config) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file {} is readable by others (mode {:o}); ignored, as libpq does: chmod 600 it",
                file.display(),
                mode & 0o777
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a socket in the default folder as `localhost`.
        #[cfg(unix)]
        Some(Host::Unix(_)) | None => "localhost".to_string(),
        #[cfg(not(unix))]
        None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(DEFAULT_PORT)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    lookup(&text, [&host, &port, database, user])
}

/// The password of the first line of `text` whose four fields match `wanted` (host, port,
/// database, user), `*` matching anything.
fn lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|fields| fields[4].clone())
}

/// A line's five fields, split at `:` where `\:` and `\\` stand for `:` and `\`.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if out.len() < 5 => out.push(String::new()),
            c => out.last_mut()?.push(c),
        }
    }
    (out.len() == 5).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_file_lines_match_as_libpq_reads_them() {
        let text = "# comment\n\
                    db.example:5432:other:me:wrong\n\
                    db.example:5432:studies:me:pa\\:ss\\\\word\n\
                    *:*:*:me:fallback\n\
                    too:few:fields\n";
        assert_eq!(
            lookup(text, ["db.example", "5432", "studies", "me"]).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            lookup(text, ["elsewhere", "6543", "x", "me"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(lookup(text, ["db.example", "5432", "studies", "you"]), None);
        // A password may hold unescaped colons after the fourth field.
        assert_eq!(
            lookup("h:1:d:u:a:b", ["h", "1", "d", "u"]).as_deref(),
            Some("a:b")
        );
    }

    #[test]
    fn a_password_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "127.0.0.1:5433:studies:me:secret\n").unwrap();
        let config: postgres::Config = "postgresql://me@127.0.0.1:5433/studies".parse().unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file(&file, &config).as_deref(), Some("secret"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(from_file(&file, &config), None);
        // The database defaults to the user's name.
        let config: postgres::Config = "postgresql://studies@127.0.0.1:5433".parse().unwrap();
        std::fs::write(&file, "127.0.0.1:5433:studies:studies:other\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file(&file, &config).as_deref(), Some("other"));
    }
}
