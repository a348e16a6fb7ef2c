//! The HTTP API and the page. Every route the router serves is listed in
//! [`ROUTES`] (the router is built from that table), and a test checks that
//! `docs/openapi.yaml` documents exactly these. Every error is JSON
//! `{"error": "..."}` with a 4xx or 5xx status.

use crate::error::ApiError;
use crate::store::{new_id, now_s, valid_id, Job, State as JobState};
use crate::upload::{self, Limits};
use crate::App;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;

/// Every route served: (method, path in OpenAPI / axum syntax).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/api/targets"),
    ("GET", "/api/jobs"),
    ("POST", "/api/jobs"),
    ("GET", "/api/jobs/{id}"),
    ("GET", "/api/jobs/{id}/files/{name}"),
    ("GET", "/api/openapi.yaml"),
];

/// The page served at `/` (HTML, CSS and JavaScript inline; no external assets).
pub const PAGE: &str = include_str!("page.html");
/// The OpenAPI 3 description of this API.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");

type AppState = Arc<App>;

fn handler(app: &App, method: &str, path: &str) -> MethodRouter<AppState> {
    match (method, path) {
        ("GET", "/") => get(page),
        ("GET", "/api/targets") => get(targets),
        ("GET", "/api/jobs") => get(list_jobs),
        // The body limit cuts off far-too-large bodies; `upload::receive`
        // answers 413 at the configured limit itself (reading the rest of
        // the body, up to this cap, so the client sees the answer).
        ("POST", "/api/jobs") => post(create_job).layer(DefaultBodyLimit::max(
            usize::try_from(app.config.max_upload_bytes.saturating_mul(2) + (1 << 20))
                .unwrap_or(usize::MAX),
        )),
        ("GET", "/api/jobs/{id}") => get(get_job),
        ("GET", "/api/jobs/{id}/files/{name}") => get(get_file),
        ("GET", "/api/openapi.yaml") => get(openapi),
        _ => unreachable!("route {method} {path} in ROUTES has no handler"),
    }
}

/// The router of a server (built from [`ROUTES`]).
pub fn router(app: AppState) -> Router {
    let mut r: Router<AppState> = Router::new();
    for &(m, p) in ROUTES {
        r = r.route(p, handler(&app, m, p));
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed on {}", uri.path()),
    )
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        OPENAPI,
    )
        .into_response()
}

/// The shipped targets, with their figures.
async fn targets() -> Json<serde_json::Value> {
    let all = sheen::mastering::Targets::builtin();
    let list: Vec<serde_json::Value> = all
        .names()
        .iter()
        .filter_map(|n| {
            let mut v = serde_json::to_value(all.get(n)?).ok()?;
            v.as_object_mut()?
                .insert("name".into(), serde_json::Value::String(n.to_string()));
            Some(v)
        })
        .collect();
    Json(serde_json::Value::Array(list))
}

/// Newest jobs first (at most 100).
async fn list_jobs(State(app): State<AppState>) -> Json<Vec<Job>> {
    let mut v = app.store.list();
    v.truncate(100);
    Json(v)
}

fn job_of(app: &App, id: &str) -> Result<Job, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::not_found(format!("no job with id {id:?}")));
    }
    app.store
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no job with id {id:?}")))
}

async fn get_job(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Job>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(job_of(&app, &id)?))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "zip" => "application/zip",
        "json" => "application/json",
        "toml" => "application/toml",
        "html" => "text/html; charset=utf-8",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

async fn get_file(
    State(app): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((id, name)) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let job = job_of(&app, &id)?;
    // Only names the job listed are served (they passed `safe_name`), so a
    // request can never reach outside the job's output folder.
    let Some(f) = job.files.iter().find(|f| f.name == name) else {
        return Err(ApiError::not_found(format!(
            "job {id} has no file {name:?} (state {:?})",
            job.state
        )));
    };
    let path = app.store.job_dir(&id).join("out").join(&f.name);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::not_found(format!("job {id}: {name}: {e}")))?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let disposition = if f.kind == "report-html" {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{}\"", f.name)
    };
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&f.name)),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(n) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    Ok(resp)
}

/// Removes a staging folder when dropped (a rejected or abandoned upload).
struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn create_job(
    State(app): State<AppState>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mp = mp.map_err(|e| {
        ApiError::new(
            e.status(),
            format!("expected a multipart/form-data body: {}", e.body_text()),
        )
    })?;
    let id = new_id();
    let staging = app.store.tmp_dir().join(&id);
    let _cleanup = Cleanup(staging.clone());
    let staged_in = staging.join("in");
    tokio::fs::create_dir_all(&staged_in)
        .await
        .map_err(|e| ApiError::internal(format!("cannot stage upload: {e}")))?;
    let limits = Limits {
        max_bytes: app.config.max_upload_bytes,
        max_files: app.config.max_files,
    };
    let up = upload::receive(mp, &staged_in, limits).await?;
    let staged = up.files.clone();
    let inputs = tokio::task::spawn_blocking(move || {
        staged
            .iter()
            .map(|(name, path, bytes)| upload::probe(name, path, *bytes))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| ApiError::internal(format!("probe: {e}")))??;
    if app.store.queued() >= app.config.max_queued {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "queue full: {} jobs waiting; try again later",
                app.config.max_queued
            ),
        ));
    }
    let dir = app.store.job_dir(&id);
    tokio::fs::rename(&staging, &dir)
        .await
        .map_err(|e| ApiError::internal(format!("cannot store job: {e}")))?;
    let job = Job {
        id: id.clone(),
        kind: up.kind,
        state: JobState::Queued,
        stage: "queued".into(),
        progress: 0.0,
        targets: up.targets,
        style: up.style,
        inputs,
        files: Vec::new(),
        before: None,
        deliverables: Vec::new(),
        error: None,
        created_unix_s: now_s(),
        started_unix_s: None,
        finished_unix_s: None,
        attempts: 0,
    };
    if let Err(e) = app.store.insert(job.clone()) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(ApiError::internal(format!("cannot store job: {e}")));
    }
    crate::runner::submit(&app, id.clone());
    let mut resp = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/jobs/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (method, path) pairs `docs/openapi.yaml` documents: keys indented
    /// two spaces under `paths:`, methods four spaces under a path.
    fn documented() -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut in_paths = false;
        let mut path = String::new();
        for line in OPENAPI.lines() {
            if !line.starts_with(' ') {
                in_paths = line.trim_end() == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let key = line.trim().trim_end_matches(':');
            if indent == 2 && line.trim_end().ends_with(':') {
                path = key.to_string();
            } else if indent == 4
                && ["get", "post", "put", "delete", "patch", "head"].contains(&key)
            {
                out.push((key.to_uppercase(), path.clone()));
            }
        }
        out.sort();
        out
    }

    /// Reference: OpenAPI 3.0 "Paths Object" — the document lists every
    /// route the router serves (the router is built from ROUTES), no more.
    #[test]
    fn openapi_lists_every_route() {
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        served.sort();
        assert_eq!(documented(), served);
        assert!(OPENAPI.starts_with("openapi: 3."));
    }

    /// Reference: ROUTES — building the router gives every listed route a
    /// handler (it panics on a route without one).
    #[test]
    fn router_builds_from_routes() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::Config::new().unwrap();
        cfg.data_dir = dir.path().to_path_buf();
        let (app, _) = crate::open(cfg).unwrap();
        let _ = router(app);
    }
}
