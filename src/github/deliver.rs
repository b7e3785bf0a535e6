//! Delivering the SARIF to code scanning: upload unless told not to, wait for
//! processing, and turn every way it can go wrong into a warning (or, with
//! `upload: always`, an error) that says what to do.

use super::{
    api::Api,
    inputs::Upload,
    reporting,
    upload::{self, Processing, UploadError, UploadRequest},
};

/// What the upload came to, for the outputs and the summary.
pub struct UploadOutcome {
    pub id: Option<String>,
    /// `complete`, `failed`, `pending`, `skipped`, `unavailable`, `too-large`, `error`.
    pub status: &'static str,
    pub sentence: String,
    /// The upload was required (`upload: always`) and did not go through.
    pub fatal: bool,
}

/// Uploads the SARIF unless told not to, and waits for code scanning to process it.
/// `request` is `None` when the runner gave no `GITHUB_REF`.
pub async fn deliver(
    mode: Upload,
    api: Option<&Api>,
    request: Option<&UploadRequest<'_>>,
    from_fork: bool,
) -> UploadOutcome {
    let required = mode == Upload::Always;
    let problem = |status: &'static str, title: &str, text: String| {
        let kind = if required { "error" } else { "warning" };
        println!("{}", reporting::message(kind, title, &text));
        UploadOutcome {
            id: None,
            status,
            sentence: format!("Code scanning: **not uploaded**. {text}"),
            fatal: required,
        }
    };
    if mode == Upload::Never {
        return UploadOutcome {
            id: None,
            status: "skipped",
            sentence: "Code scanning: not uploaded (`upload: never`).".into(),
            fatal: false,
        };
    }
    let (Some(api), Some(request)) = (api, request) else {
        return problem(
            "skipped",
            "hassec: results not uploaded",
            "no token, GITHUB_REPOSITORY or GITHUB_REF to upload with: pass `token` (the default is `${{ github.token }}`)".into(),
        );
    };
    let id = match upload::upload(api, request).await {
        Ok(id) => id,
        Err(UploadError::Refused { status, message }) => {
            let hint = upload::refusal_hint(status, &message, from_fork);
            return problem(
                "unavailable",
                "hassec: results not uploaded to code scanning",
                format!("HTTP {status} ({message}): {hint}."),
            );
        }
        Err(error @ UploadError::TooLarge { .. }) => {
            return problem("too-large", "hassec: SARIF too large", error.to_string());
        }
        Err(error) => {
            return problem("error", "hassec: SARIF upload failed", error.to_string());
        }
    };
    println!(
        "hassec: SARIF uploaded for {} at {} (id {id}); waiting for code scanning to process it",
        request.git_ref, request.commit_sha
    );
    let processing = match upload::wait(api, &id).await {
        Ok(processing) => processing,
        Err(e) => Processing::Failed(vec![e]),
    };
    let with_id = |mut outcome: UploadOutcome| {
        outcome.id = Some(id.clone());
        outcome
    };
    match processing {
        Processing::Complete => {
            println!("hassec: code scanning processed the results");
            with_id(UploadOutcome {
                id: None,
                status: "complete",
                sentence: format!("Code scanning: uploaded and processed (upload {id})."),
                fatal: false,
            })
        }
        Processing::Failed(errors) => {
            for error in &errors {
                println!("hassec: code scanning processing error: {error}");
            }
            let text = if errors.is_empty() {
                "code scanning could not process the SARIF".to_string()
            } else {
                format!(
                    "code scanning could not process the SARIF: {}",
                    errors.join("; ")
                )
            };
            with_id(problem("failed", "hassec: SARIF processing failed", text))
        }
        Processing::Pending => with_id(UploadOutcome {
            id: None,
            status: "pending",
            sentence: format!(
                "Code scanning: uploaded (upload {id}), still processing when the step ended."
            ),
            fatal: false,
        }),
    }
}
