//! Trials written before causes were typed. Older databases kept why a trial ended, and which
//! trial retried it, only in the trial's message; upgrading a database reads them out of it
//! once, here, so no other code ever reads a message.

use super::{Cause, TrialState};

/// What an old message said, typed: the cause, the retrying trial, and the message without
/// the retry note it used to carry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Upgraded {
    pub cause: Option<Cause>,
    pub retried_as: Option<usize>,
    pub message: Option<String>,
}

/// What older anneal appended to a failed trial's message once a new trial retried it.
const RETRIED_AS: &str = "; retried as trial ";

/// How older anneal began the message of a trial whose process stopped.
const STOPPED: &str = "interrupted: the process running this trial stopped before it finished";

/// The typed form of a trial in `state` whose message was `message`.
pub(crate) fn upgrade(state: TrialState, message: Option<&str>) -> Upgraded {
    let (text, retried_as) = match message.and_then(|m| m.split_once(RETRIED_AS)) {
        Some((text, rest)) => (Some(text), leading_number(rest)),
        None => (message, None),
    };
    let starts = |prefix: &str| text.is_some_and(|t| t.starts_with(prefix));
    let step_after = |prefix: &str| {
        text.and_then(|t| t.strip_prefix(prefix))
            .and_then(leading_number)
    };
    let cause = match state {
        TrialState::Running | TrialState::Complete => None,
        TrialState::Pruned => Some(Cause::Pruned {
            step: step_after("pruned after step "),
        }),
        TrialState::Paused => step_after("paused after step ").map(|step| Cause::Paused { step }),
        TrialState::Interrupted => Some(Cause::ByUser),
        TrialState::Failed => Some(
            if let Some(signal) = text
                .and_then(|t| t.strip_prefix("killed by signal "))
                .and_then(leading_number)
            {
                Cause::Killed {
                    signal: signal as i32,
                }
            } else if starts(STOPPED) {
                match text.is_some_and(|t| t.contains("(its process had exited)")) {
                    true => Cause::ProcessExited,
                    false => Cause::LeaseLapsed,
                }
            } else if starts("diverged") {
                Cause::Diverged
            } else if starts("timed out") {
                Cause::TimedOut
            } else if starts("the sampler failed") {
                Cause::SamplerError
            } else {
                Cause::ObjectiveError
            },
        ),
    };
    Upgraded {
        cause,
        retried_as,
        message: text.map(str::to_string),
    }
}

/// The number `text` starts with.
fn leading_number(text: &str) -> Option<usize> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_messages_become_causes_and_retry_links() {
        let killed = upgrade(
            TrialState::Failed,
            Some(
                "killed by signal 9 (SIGKILL: likely the kernel's out-of-memory killer); retried as trial 7",
            ),
        );
        assert_eq!(killed.cause, Some(Cause::Killed { signal: 9 }));
        assert_eq!(killed.retried_as, Some(7));
        assert_eq!(
            killed.message.as_deref(),
            Some("killed by signal 9 (SIGKILL: likely the kernel's out-of-memory killer)")
        );
        let lapsed = upgrade(
            TrialState::Failed,
            Some(&format!(
                "{STOPPED} (its lease lapsed); retried as trial 11"
            )),
        );
        assert_eq!(lapsed.cause, Some(Cause::LeaseLapsed));
        assert_eq!(lapsed.retried_as, Some(11));
        let exited = upgrade(
            TrialState::Failed,
            Some(&format!("{STOPPED} (its process had exited)")),
        );
        assert_eq!(
            (exited.cause, exited.retried_as),
            (Some(Cause::ProcessExited), None)
        );
        let cases = [
            (
                TrialState::Failed,
                "diverged: the objective value is NaN",
                Some(Cause::Diverged),
            ),
            (
                TrialState::Failed,
                "timed out after 5 s",
                Some(Cause::TimedOut),
            ),
            (
                TrialState::Failed,
                "no such file",
                Some(Cause::ObjectiveError),
            ),
            (
                TrialState::Pruned,
                "pruned after step 2",
                Some(Cause::Pruned { step: Some(2) }),
            ),
            (
                TrialState::Pruned,
                "pruned",
                Some(Cause::Pruned { step: None }),
            ),
            (
                TrialState::Paused,
                "paused after step 3",
                Some(Cause::Paused { step: 3 }),
            ),
            (
                TrialState::Interrupted,
                "interrupted by the user",
                Some(Cause::ByUser),
            ),
        ];
        for (state, message, cause) in cases {
            let upgraded = upgrade(state, Some(message));
            assert_eq!(upgraded.cause, cause, "{message}");
            assert_eq!(upgraded.message.as_deref(), Some(message));
        }
        assert_eq!(upgrade(TrialState::Complete, None).cause, None);
    }
}
