//! Code scanning upload: `POST /repos/{o}/{r}/code-scanning/sarifs` with the SARIF
//! gzipped and base64-encoded, then `GET .../sarifs/{id}` until GitHub has
//! processed it.

use std::io::Write;

use base64::Engine;
use flate2::{Compression, write::GzEncoder};
use serde_json::{Value, json};

use super::api::{Api, ApiError, Response};

/// GitHub's limit on the gzipped SARIF file.
pub const MAX_GZIPPED_BYTES: usize = 10 * 1024 * 1024;

/// What the upload says about the analysis.
#[derive(Debug, Clone)]
pub struct UploadRequest<'a> {
    pub commit_sha: &'a str,
    /// `refs/heads/main`, `refs/pull/7/merge`.
    pub git_ref: &'a str,
    pub sarif: &'a str,
    /// `file://` URI of the workspace, so that GitHub maps SARIF paths to the repository.
    pub checkout_uri: &'a str,
    /// RFC 3339.
    pub started_at: &'a str,
    pub tool_name: &'a str,
}

/// Why an upload did not go through.
#[derive(Debug, Clone)]
pub enum UploadError {
    /// 403 or 404: code scanning is not available to this token or repository.
    Refused { status: u16, message: String },
    /// Over GitHub's size limit (found before sending, or a 413).
    TooLarge { gzipped: usize },
    /// Anything else: 422 (invalid SARIF), server errors past the retries, no connection.
    Failed(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
            UploadError::TooLarge { gzipped } => write!(
                f,
                "the SARIF file is {gzipped} bytes gzipped, over GitHub's limit of {MAX_GZIPPED_BYTES} bytes: scan fewer `paths` or select fewer rules"
            ),
            UploadError::Failed(message) => f.write_str(message),
        }
    }
}

/// Gzips and base64-encodes the SARIF text; also returns the gzipped size.
pub fn encode(sarif: &str) -> (String, usize) {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(sarif.as_bytes()).expect("writing to memory");
    let bytes = gz.finish().expect("writing to memory");
    (
        base64::engine::general_purpose::STANDARD.encode(&bytes),
        bytes.len(),
    )
}

/// Uploads, returning the id of the SARIF upload.
pub async fn upload(api: &Api, request: &UploadRequest<'_>) -> Result<String, UploadError> {
    let (sarif, gzipped) = encode(request.sarif);
    if gzipped > MAX_GZIPPED_BYTES {
        return Err(UploadError::TooLarge { gzipped });
    }
    let body = json!({
        "commit_sha": request.commit_sha,
        "ref": request.git_ref,
        "sarif": sarif,
        "checkout_uri": request.checkout_uri,
        "started_at": request.started_at,
        "tool_name": request.tool_name,
    });
    let path = format!("/repos/{}/code-scanning/sarifs", api.repo);
    match api.post(&path, &body).await {
        Ok(response) => serde_json::from_str::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| {
                UploadError::Failed(format!(
                    "HTTP {}: the answer has no upload id: {}",
                    response.status,
                    response.message()
                ))
            }),
        Err(ApiError::Status(response)) if response.is_rate_limited() => {
            Err(UploadError::Failed(format!(
                "still rate limited after {} retries: HTTP {}: {}",
                api.backoff.retries,
                response.status,
                response.message()
            )))
        }
        Err(ApiError::Status(response)) => Err(match response.status {
            403 | 404 => UploadError::Refused {
                status: response.status,
                message: response.message(),
            },
            413 => UploadError::TooLarge { gzipped },
            _ => UploadError::Failed(format!("HTTP {}: {}", response.status, response.message())),
        }),
        Err(error @ ApiError::Transport(_)) => Err(UploadError::Failed(error.to_string())),
    }
}

/// How the processing of an upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processing {
    Complete,
    /// GitHub could not process the SARIF; its errors.
    Failed(Vec<String>),
    /// Still pending when we stopped asking.
    Pending,
}

impl Processing {
    pub fn as_str(&self) -> &'static str {
        match self {
            Processing::Complete => "complete",
            Processing::Failed(_) => "failed",
            Processing::Pending => "pending",
        }
    }
}

fn processing_of(response: &Response) -> Option<Processing> {
    let value: Value = serde_json::from_str(&response.body).ok()?;
    match value.get("processing_status")?.as_str()? {
        "complete" => Some(Processing::Complete),
        "failed" => Some(Processing::Failed(
            value
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        )),
        _ => None,
    }
}

/// Asks for the upload's processing status with backoff until it is complete or
/// failed, at most `api.backoff.polls` times.
pub async fn wait(api: &Api, id: &str) -> Result<Processing, String> {
    let path = format!("/repos/{}/code-scanning/sarifs/{id}", api.repo);
    for poll in 0..api.backoff.polls {
        tokio::time::sleep(api.backoff.delay(poll)).await;
        match api.get(&path).await {
            Ok(response) => {
                if let Some(done) = processing_of(&response) {
                    return Ok(done);
                }
            }
            // Just after the upload GitHub may not know the id yet.
            Err(ApiError::Status(response)) if response.status == 404 => {}
            Err(error) => return Err(format!("cannot read the upload's status: {error}")),
        }
    }
    Ok(Processing::Pending)
}

/// What to tell the user when code scanning refuses an upload, and how to fix it.
pub fn refusal_hint(status: u16, message: &str, from_fork: bool) -> String {
    let lower = message.to_ascii_lowercase();
    if from_fork {
        return "the token of a pull request from a fork is read-only, so its results cannot go to code scanning; \
                the findings are reported as annotations and in the job summary, and the pull request's check still passes or fails on them"
            .into();
    }
    if lower.contains("advanced security")
        || lower.contains("code security")
        || lower.contains("not enabled")
    {
        return "code scanning is not enabled for this repository: a private repository needs GitHub Advanced Security (Code Security); \
                until then the findings are reported as annotations and in the job summary, or set `upload: never`"
            .into();
    }
    if status == 403 {
        return "the token may not upload code scanning results: give the job `permissions: security-events: write` (and `contents: read`)".into();
    }
    "code scanning is not available to this token: a private repository needs GitHub Advanced Security, \
     and the job needs `permissions: security-events: write`; or set `upload: never`"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn encoding_round_trips() {
        let sarif = r#"{"version":"2.1.0","runs":[]}"#;
        let (encoded, gzipped) = encode(sarif);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(bytes.len(), gzipped);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, sarif);
    }

    #[test]
    fn hints_name_the_cause() {
        assert!(refusal_hint(403, "Resource not accessible by integration", true).contains("fork"));
        assert!(
            refusal_hint(
                403,
                "Advanced Security must be enabled for this repository to use code scanning.",
                false
            )
            .contains("GitHub Advanced Security")
        );
        assert!(
            refusal_hint(403, "Resource not accessible by integration", false)
                .contains("security-events: write")
        );
        assert!(refusal_hint(404, "Not Found", false).contains("Advanced Security"));
    }

    #[test]
    fn processing_states() {
        let response = |body: &str| Response::for_test(200, body);
        assert_eq!(
            processing_of(&response(r#"{"processing_status":"complete"}"#)),
            Some(Processing::Complete)
        );
        assert_eq!(
            processing_of(&response(r#"{"processing_status":"pending"}"#)),
            None
        );
        assert_eq!(
            processing_of(&response(
                r#"{"processing_status":"failed","errors":["bad location"]}"#
            )),
            Some(Processing::Failed(vec!["bad location".into()]))
        );
    }
}
