//! The event that started the workflow: its name (`GITHUB_EVENT_NAME`) and the
//! parts of its payload (`GITHUB_EVENT_PATH`) that the action needs.

use std::path::Path;

use serde::Deserialize;

/// What the action does depends on the kind of event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pull_request` or `pull_request_target`: the checkout is the merge commit.
    PullRequest(PullRequest),
    /// `push`: `before` is the previous tip of the branch (all zeros for a new branch).
    Push { before: Option<String> },
    /// `schedule`, `workflow_dispatch` and anything else: a full scan.
    Other { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub base_sha: String,
    pub head_sha: String,
    /// The head branch lives in another repository: the token is read-only there.
    pub from_fork: bool,
}

#[derive(Deserialize)]
struct Payload {
    pull_request: Option<PullRequestPayload>,
    before: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    number: u64,
    base: Side,
    head: Side,
}

#[derive(Deserialize)]
struct Side {
    sha: String,
    repo: Option<Repo>,
}

#[derive(Deserialize)]
struct Repo {
    full_name: String,
}

impl Event {
    /// Reads the payload of event `name`; `path` may be absent outside the runner
    /// (a non-pull-request event then needs nothing from it).
    pub fn load(name: &str, path: Option<&Path>) -> Result<Self, String> {
        let payload = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the event payload {}: {e}", path.display())
                })?;
                Self::parse(name, &text)
                    .map_err(|e| format!("event payload {}: {e}", path.display()))?
            }
            None if is_pull_request(name) => {
                return Err(format!(
                    "a `{name}` event needs its payload: GITHUB_EVENT_PATH is not set"
                ));
            }
            None => Self::parse(name, "{}")?,
        };
        Ok(payload)
    }

    pub fn parse(name: &str, payload: &str) -> Result<Self, String> {
        let payload: Payload = serde_json::from_str(payload).map_err(|e| e.to_string())?;
        if is_pull_request(name) {
            let Some(pr) = payload.pull_request else {
                return Err(format!("a `{name}` payload without `pull_request`"));
            };
            let full_name = |side: &Side| side.repo.as_ref().map(|r| r.full_name.clone());
            // A deleted fork has no `head.repo`: it was a fork all the same.
            let from_fork =
                full_name(&pr.head).is_none() || full_name(&pr.head) != full_name(&pr.base);
            return Ok(Event::PullRequest(PullRequest {
                number: pr.number,
                base_sha: pr.base.sha,
                head_sha: pr.head.sha,
                from_fork,
            }));
        }
        if name == "push" {
            let before = payload
                .before
                .filter(|sha| !sha.is_empty() && !sha.bytes().all(|b| b == b'0'));
            return Ok(Event::Push { before });
        }
        Ok(Event::Other {
            name: name.to_string(),
        })
    }

    pub fn pull_request(&self) -> Option<&PullRequest> {
        match self {
            Event::PullRequest(pr) => Some(pr),
            _ => None,
        }
    }
}

fn is_pull_request(name: &str) -> bool {
    matches!(name, "pull_request" | "pull_request_target")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PR: &str = r#"{
      "action": "synchronize", "number": 7,
      "pull_request": {
        "number": 7,
        "base": {"sha": "aaa", "ref": "main", "repo": {"full_name": "o/r"}},
        "head": {"sha": "bbb", "ref": "feature", "repo": {"full_name": "o/r"}}
      }
    }"#;

    #[test]
    fn pull_request_payload() {
        let event = Event::parse("pull_request", PR).unwrap();
        assert_eq!(
            event,
            Event::PullRequest(PullRequest {
                number: 7,
                base_sha: "aaa".into(),
                head_sha: "bbb".into(),
                from_fork: false
            })
        );
        let fork = PR.replacen(
            r#""feature", "repo": {"full_name": "o/r"}"#,
            r#""feature", "repo": {"full_name": "someone/r"}"#,
            1,
        );
        assert!(
            Event::parse("pull_request_target", &fork)
                .unwrap()
                .pull_request()
                .unwrap()
                .from_fork
        );
    }

    #[test]
    fn push_with_and_without_a_previous_tip() {
        assert_eq!(
            Event::parse("push", r#"{"before": "abc", "after": "def"}"#).unwrap(),
            Event::Push {
                before: Some("abc".into())
            }
        );
        let new_branch = format!(r#"{{"before": "{}"}}"#, "0".repeat(40));
        assert_eq!(
            Event::parse("push", &new_branch).unwrap(),
            Event::Push { before: None }
        );
    }

    #[test]
    fn other_events_and_errors() {
        assert_eq!(
            Event::load("schedule", None).unwrap(),
            Event::Other {
                name: "schedule".into()
            }
        );
        assert!(
            Event::load("pull_request", None)
                .unwrap_err()
                .contains("GITHUB_EVENT_PATH")
        );
        assert!(
            Event::parse("pull_request", "{}")
                .unwrap_err()
                .contains("without `pull_request`")
        );
        assert!(Event::parse("push", "not json").is_err());
    }
}
