//! The REST calls the action makes, through octocrab's generic `_get`/`_post`:
//! octocrab has no typed SARIF upload, and GitHub's error bodies are not always
//! JSON, so every response's status and body are read here. Server errors, rate
//! limits and transport errors are retried a bounded number of times with
//! exponential backoff; octocrab's own retry layer is off so that ours is the only one.

use std::time::Duration;

use octocrab::{Octocrab, service::middleware::retry::RetryConfig};
use serde::Deserialize;
use serde_json::Value;

use super::{
    changes::{ChangeSource, ChangedFile, Changes},
    patch,
};

/// Waits between attempts: `first`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// Retries after the first attempt of a request.
    pub retries: u32,
    /// Status requests while code scanning processes an upload.
    pub polls: u32,
    /// How long one attempt waits for an answer: a server that accepts the
    /// connection and never answers costs at most this per attempt.
    pub timeout: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
            retries: 4,
            // About two and a half minutes in all.
            polls: 8,
            timeout: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// The default schedule scaled to start at `first` (`HASSEC_BACKOFF_MS`), which
    /// keeps the same number of attempts: tests use milliseconds.
    pub fn starting_at(first: Duration) -> Self {
        Self {
            first,
            max: first * 15,
            ..Self::default()
        }
    }

    /// The wait before retry `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max)
    }
}

/// A response as GitHub sent it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// `Retry-After`, or the time to `x-ratelimit-reset` when the limit is spent.
    retry_after: Option<Duration>,
    rate_limited: bool,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// GitHub's `message`, or the body itself (shortened) when it is not JSON.
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| {
                let body = self.body.trim();
                let cut: String = body.chars().take(300).collect();
                if cut.len() < body.len() {
                    format!("{cut}…")
                } else {
                    cut.to_string()
                }
            })
    }

    #[cfg(test)]
    pub(crate) fn for_test(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.into(),
            retry_after: None,
            rate_limited: false,
        }
    }

    /// GitHub's rate limit answered, not a permission check.
    pub fn is_rate_limited(&self) -> bool {
        self.rate_limited
    }

    fn should_retry(&self) -> bool {
        self.status >= 500 || self.rate_limited
    }
}

/// A request that got no usable answer.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// GitHub answered with an error status (after any retries).
    Status(Response),
    /// No answer: connection, TLS, timeout.
    Transport(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status(response) => {
                write!(f, "HTTP {}: {}", response.status, response.message())
            }
            ApiError::Transport(e) => write!(f, "no response: {e}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A client for one repository.
pub struct Api {
    client: Octocrab,
    /// `owner/name`.
    pub repo: String,
    pub backoff: Backoff,
}

impl Api {
    /// `api_url` is `GITHUB_API_URL` (`https://api.github.com`, a GitHub Enterprise
    /// Server's `/api/v3`, or a test server).
    pub fn new(api_url: &str, token: &str, repo: &str, backoff: Backoff) -> Result<Self, String> {
        let client = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| format!("GITHUB_API_URL `{api_url}` is not a URL: {e}"))?
            .personal_token(token.to_string())
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(20)))
            .set_read_timeout(Some(backoff.timeout))
            .build()
            .map_err(|e| format!("cannot set up the GitHub client: {e}"))?;
        Ok(Self {
            client,
            repo: repo.to_string(),
            backoff,
        })
    }

    async fn attempt(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, String> {
        let response = match method {
            Method::Get => self.client._get(path).await,
            Method::Post => self.client._post(path, body).await,
        }
        .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after")
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs);
        let spent = header("x-ratelimit-remaining").as_deref() == Some("0");
        let reset = header("x-ratelimit-reset")
            .and_then(|s| s.parse::<i64>().ok())
            .map(|reset| {
                Duration::from_secs((reset - chrono::Utc::now().timestamp()).max(0) as u64)
            });
        let body = self
            .client
            .body_to_string(response)
            .await
            .unwrap_or_default();
        let secondary = status == 403 && body.to_ascii_lowercase().contains("rate limit");
        Ok(Response {
            status,
            rate_limited: status == 429
                || (status == 403 && (spent || retry_after.is_some() || secondary)),
            retry_after: retry_after.or(if spent { reset } else { None }),
            body,
        })
    }

    /// Sends a request, retrying server errors, rate limits and transport errors.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ApiError> {
        let mut attempt = 0;
        loop {
            let result = self.attempt(method, path, body).await;
            let retry = match &result {
                Ok(response) => response.should_retry(),
                Err(_) => true,
            };
            if !retry || attempt >= self.backoff.retries {
                return match result {
                    Ok(response) if response.is_success() => Ok(response),
                    Ok(response) => Err(ApiError::Status(response)),
                    Err(e) => Err(ApiError::Transport(e)),
                };
            }
            let wait = match &result {
                // GitHub's own wait, within our bound: a limit that resets in an hour
                // is not worth holding the job for.
                Ok(Response {
                    retry_after: Some(after),
                    ..
                }) => (*after).min(self.backoff.max),
                _ => self.backoff.delay(attempt),
            };
            let why = match &result {
                Ok(response) => format!("HTTP {}", response.status),
                Err(e) => e.clone(),
            };
            println!(
                "GitHub API {path}: {why}; retrying in {:.1}s ({}/{})",
                wait.as_secs_f64(),
                attempt + 1,
                self.backoff.retries
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    pub async fn get(&self, path: &str) -> Result<Response, ApiError> {
        self.send(Method::Get, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Response, ApiError> {
        self.send(Method::Post, path, Some(body)).await
    }

    /// The pull request's changed files from `GET /repos/{o}/{r}/pulls/{n}/files`,
    /// all pages (GitHub lists at most 3,000 files).
    pub async fn pull_request_files(&self, number: u64) -> Result<Changes, ApiError> {
        #[derive(Deserialize)]
        struct File {
            filename: String,
            status: String,
            patch: Option<String>,
        }
        const PER_PAGE: usize = 100;
        let mut changes = Changes::new(ChangeSource::Api);
        for page in 1..=30 {
            let path = format!(
                "/repos/{}/pulls/{number}/files?per_page={PER_PAGE}&page={page}",
                self.repo
            );
            let response = self.get(&path).await?;
            let files: Vec<File> = serde_json::from_str(&response.body).map_err(|e| {
                ApiError::Status(Response {
                    body: format!("unexpected list of files: {e}"),
                    ..response.clone()
                })
            })?;
            let count = files.len();
            for file in files.into_iter().filter(|f| f.status != "removed") {
                let changed = match &file.patch {
                    Some(text) => patch::parse(text),
                    // No patch: too large a diff, or binary. Every line counts.
                    None => ChangedFile {
                        whole: true,
                        ..ChangedFile::default()
                    },
                };
                changes.files.insert(file.filename, changed);
            }
            if count < PER_PAGE {
                break;
            }
        }
        Ok(changes)
    }
}

/// An error with its causes (`client error (SendRequest): operation timed out`):
/// the outermost message alone rarely says what went wrong.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_bound() {
        let backoff = Backoff::starting_at(Duration::from_millis(10));
        let delays: Vec<u128> = (0..6).map(|a| backoff.delay(a).as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 150, 150]);
        assert_eq!(Backoff::default().delay(10), Duration::from_secs(30));
    }

    #[test]
    fn error_messages_from_json_and_from_anything_else() {
        let response = |body: &str| Response::for_test(502, body);
        assert_eq!(
            response(r#"{"message": "Bad things"}"#).message(),
            "Bad things"
        );
        assert_eq!(
            response("<html>Bad gateway</html>").message(),
            "<html>Bad gateway</html>"
        );
        assert_eq!(response(&"x".repeat(400)).message().chars().count(), 301);
        assert!(response("").should_retry());
    }

    mod http {
        use super::super::*;
        use wiremock::{
            Mock, MockServer, ResponseTemplate,
            matchers::{method, path},
        };

        async fn api(server: &MockServer) -> Api {
            Api::new(
                &server.uri(),
                "t",
                "o/r",
                Backoff::starting_at(Duration::from_millis(1)),
            )
            .unwrap()
        }

        async fn answer(server: &MockServer, first: ResponseTemplate) {
            Mock::given(method("GET"))
                .and(path("/x"))
                .respond_with(first)
                .up_to_n_times(1)
                .with_priority(1)
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path("/x"))
                .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
                .mount(server)
                .await;
        }

        #[tokio::test]
        async fn rate_limits_are_waited_out() {
            for first in [
                ResponseTemplate::new(429).insert_header("retry-after", "0"),
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", "0"),
                ResponseTemplate::new(403).set_body_json(
                    serde_json::json!({"message": "You have exceeded a secondary rate limit."}),
                ),
                // A secondary limit that says how long to wait.
                ResponseTemplate::new(403)
                    .insert_header("retry-after", "0")
                    .set_body_json(serde_json::json!({
                        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                    })),
            ] {
                let server = MockServer::start().await;
                answer(&server, first).await;
                let response = api(&server).await.get("/x").await.unwrap();
                assert_eq!(response.status, 200);
                assert_eq!(server.received_requests().await.unwrap().len(), 2);
            }
        }

        #[tokio::test]
        async fn a_malformed_list_of_files_is_a_clear_error() {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/repos/o/r/pulls/7/files"))
                .respond_with(ResponseTemplate::new(200).set_body_string("[{\"filename\": "))
                .mount(&server)
                .await;
            let Err(ApiError::Status(response)) = api(&server).await.pull_request_files(7).await
            else {
                panic!("a truncated body is an error");
            };
            assert!(
                response
                    .message()
                    .starts_with("unexpected list of files: EOF"),
                "{}",
                response.message()
            );
            assert_eq!(server.received_requests().await.unwrap().len(), 1);
        }

        #[tokio::test]
        async fn a_malformed_upload_answer_is_a_clear_error() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/repos/o/r/code-scanning/sarifs"))
                .respond_with(ResponseTemplate::new(202).set_body_string("<html>oops"))
                .mount(&server)
                .await;
            let request = crate::github::upload::UploadRequest {
                commit_sha: "0123456789012345678901234567890123456789",
                git_ref: "refs/heads/main",
                sarif: r#"{"version":"2.1.0","runs":[]}"#,
                checkout_uri: "file:///w",
                started_at: "2026-01-01T00:00:00Z",
                tool_name: "hassec",
            };
            let error = crate::github::upload::upload(&api(&server).await, &request)
                .await
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                "HTTP 202: the answer has no upload id: <html>oops"
            );
        }

        #[tokio::test]
        async fn a_server_that_never_answers_times_out_after_the_retries() {
            // Accepts connections, reads nothing, answers nothing.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let uri = format!("http://{}", listener.local_addr().unwrap());
            let held = tokio::spawn(async move {
                let mut open = Vec::new();
                while let Ok((socket, _)) = listener.accept().await {
                    open.push(socket);
                }
            });
            let backoff = Backoff {
                timeout: Duration::from_millis(200),
                ..Backoff::starting_at(Duration::from_millis(1))
            };
            let api = Api::new(&uri, "secret-token", "o/r", backoff).unwrap();
            let Err(ApiError::Transport(error)) = api.get("/x").await else {
                panic!("no answer is a transport error");
            };
            assert!(error.contains("timed out"), "{error}");
            assert!(!error.contains("secret-token"));
            held.abort();
        }

        #[tokio::test]
        async fn a_plain_forbidden_is_not_retried() {
            let server = MockServer::start().await;
            answer(
                &server,
                ResponseTemplate::new(403).set_body_json(
                    serde_json::json!({"message": "Resource not accessible by integration"}),
                ),
            )
            .await;
            let Err(ApiError::Status(response)) = api(&server).await.get("/x").await else {
                panic!("a 403 is an error");
            };
            assert_eq!(response.message(), "Resource not accessible by integration");
            assert_eq!(server.received_requests().await.unwrap().len(), 1);
        }

        #[tokio::test]
        async fn no_server_is_a_transport_error_after_the_retries() {
            // A port nothing listens on: bound, then released.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let uri = format!("http://127.0.0.1:{port}");
            let api = Api::new(
                &uri,
                "t",
                "o/r",
                Backoff::starting_at(Duration::from_millis(1)),
            )
            .unwrap();
            assert!(matches!(api.get("/x").await, Err(ApiError::Transport(_))));
        }

        #[tokio::test]
        async fn too_large_uploads_say_their_size() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/repos/o/r/code-scanning/sarifs"))
                .respond_with(
                    ResponseTemplate::new(413)
                        .set_body_string("<html>Request Entity Too Large</html>"),
                )
                .mount(&server)
                .await;
            let sarif = r#"{"version":"2.1.0","runs":[]}"#;
            let request = crate::github::upload::UploadRequest {
                commit_sha: "0123456789012345678901234567890123456789",
                git_ref: "refs/heads/main",
                sarif,
                checkout_uri: "file:///w",
                started_at: "2026-01-01T00:00:00Z",
                tool_name: "hassec",
            };
            let error = crate::github::upload::upload(&api(&server).await, &request)
                .await
                .unwrap_err();
            let (_, gzipped) = crate::github::upload::encode(sarif);
            assert!(
                matches!(error, crate::github::upload::UploadError::TooLarge { gzipped: g } if g == gzipped),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("{gzipped} bytes gzipped")),
                "{error}"
            );
        }
    }
}
