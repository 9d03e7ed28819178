//! For operators (admin keys without a program scope): what Wallet devices logged, and the
//! outbox's jobs by state, with a way to send a failed job again.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::clock::{from_micros, rfc3339};
use crate::domain::api_key::Role;
use crate::domain::job::Job;
use crate::domain::Invalid;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::openapi::responses::{InternalError, Unauthorized};
use crate::http::routes::Routes;
use crate::state::AppState;
use crate::storage::JobRecord;

/// The area's operations, as documented.
#[derive(OpenApi)]
#[openapi(paths(device_logs, jobs, retry))]
pub struct Document;

pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_device_logs, device_logs)
        .add(__path_jobs, jobs)
        .add(__path_retry, retry);
}

fn operator(caller: &Caller) -> Result<(), ApiError> {
    caller.require(&[Role::Admin])?;
    if caller.program_id.is_some() {
        return Err(ApiError::forbidden(
            "device logs and the outbox span all programs: use an admin key without a program scope",
        ));
    }
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Limit {
    /// How many, newest first: 1 to 1000 (default 100); smaller values count as 1, larger ones as 1000. A non-number answers 422 `invalid_query`.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// One line a device logged.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = DeviceLogEntry)]
struct DeviceLogEntry {
    /// As Wallet wrote it, without control characters, at most 1000 characters.
    message: String,
    /// When the device posted it; RFC 3339 in UTC with a `Z`.
    #[schema(format = DateTime)]
    received_at: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = DeviceLogList)]
struct DeviceLogList {
    /// Newest first. Entries older than `outbox.retention_hours` (72) are deleted.
    entries: Vec<DeviceLogEntry>,
}

/// `pending`: waiting until `run_at` (new, coalescing, or retrying after a failure);
/// `running`: claimed by a worker under a lease; `done`: finished (see `last_error` for
/// notes); `failed`: given up, kept until retried.
#[derive(Clone, Copy, ToSchema)]
#[schema(as = OutboxJobState)]
#[schema(rename_all = "lowercase")]
enum JobState {
    Pending,
    Running,
    Done,
    Failed,
}

impl JobState {
    fn parse(s: &str) -> Option<JobState> {
        match s {
            "pending" => Some(JobState::Pending),
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

/// A job's kind: `pass_changed`: one member's card changed, fanned out to one `apple_push` per
/// device holding it; `program_changed`: every card of a program changed, fanned out in
/// `apple_pushes` ranges; `apple_push`: one APNs push to one device for one pass type;
/// `google_object`: bring one member's Google Wallet object up to date, adding a message when
/// the change calls for one; `google_class`: bring a program's Google Wallet class up to date;
/// `webhook`: one event to one endpoint; `email` and `sms`: one stored message;
/// `campaign_batch`: the next batch of a campaign run's messages.
fn job_kind() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(Job::KINDS))
        .build()
}

/// A job of the outbox.
// Fields in alphabetical order, the order the answer always had.
#[derive(Serialize, ToSchema)]
#[schema(as = OutboxJob)]
struct JobView {
    /// Times a worker claimed it, this one included.
    attempts: i64,
    #[schema(format = DateTime)]
    created_at: String,
    /// When it became `done` or `failed`; `null` before.
    #[schema(required = true, format = DateTime)]
    finished_at: Option<String>,
    id: i64,
    #[schema(schema_with = job_kind)]
    kind: String,
    /// Why the last attempt failed or will be retried (`gave up after 10 attempts: 503 ServiceUnavailable`, `400 BadDeviceToken (registration kept)`, `lease expired: the worker stopped`), or a note on a finished job (`not sent: development certificates cannot reach Apple`, `410 Unregistered: 1 registrations removed`, `superseded by a newer job for the same target`). Google jobs say `Google <status>: <reason>` (`Google: ...` when there was no answer), or note `Google Wallet is not configured`.
    #[schema(required = true)]
    last_error: Option<String>,
    /// The job as stored, by kind; `null` if it cannot be read.
    #[schema(required = true)]
    payload: Option<Job>,
    /// When it is (or was last) due; RFC 3339 in UTC.
    #[schema(format = DateTime)]
    run_at: String,
    #[schema(value_type = JobState)]
    state: String,
}

impl JobView {
    fn new(j: JobRecord) -> JobView {
        JobView {
            attempts: j.attempts,
            created_at: rfc3339(from_micros(j.created_at)),
            finished_at: j.finished_at.map(|t| rfc3339(from_micros(t))),
            id: j.id,
            kind: j.kind,
            last_error: j.last_error,
            payload: Job::from_json(&j.payload).ok(),
            run_at: rfc3339(from_micros(j.run_at)),
            state: j.state,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = OutboxJobList)]
struct JobList {
    /// Newest first.
    jobs: Vec<JobView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OutboxJobRetried)]
struct Retried {
    id: i64,
    #[schema(schema_with = pending)]
    state: &'static str,
}

/// Always `pending`.
fn pending() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["pending"]))
        .build()
}

/// List device logs
///
/// What Wallet on devices posted to `/wallet/v1/log` (errors it met calling this service),
/// newest first; the first thing to look at when cards do not update. Also
/// `passwright device-logs`. Unknown query parameters answer 422 `invalid_query`.
///
/// Roles: `admin` (without a program scope).
#[utoipa::path(
    get,
    path = "/api/v1/device-logs",
    operation_id = "listDeviceLogs",
    tag = "operations",
    params(Limit),
    responses(
        (status = 200, description = "The entries.", body = DeviceLogList),
        (status = 401, response = Unauthorized),
        (status = 403, description = "`forbidden`: not an admin key, or an admin key limited to a program (device logs and the outbox span all programs).", body = ErrorBody),
        (status = 422, description = "`invalid_query`: a parameter of the wrong type, or an unknown parameter.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn device_logs(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<Limit>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let logs = state.store.device_logs(query.limit.unwrap_or(100)).await?;
    let entries = logs
        .into_iter()
        .map(|(at, message)| DeviceLogEntry {
            message,
            received_at: rfc3339(from_micros(at)),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DeviceLogList { entries }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct JobQuery {
    /// Which jobs (default `failed`); another value answers 422 `validation_failed` (`field`: `state`).
    #[param(value_type = JobState, required = false, default = "failed")]
    state: Option<String>,
    /// How many, newest first: 1 to 1000 (default 100); smaller values count as 1, larger ones as 1000. A non-number answers 422 `invalid_query`.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// List outbox jobs
///
/// The outbox's jobs in one state, newest first: by default the failed ones, with the reason
/// in `last_error`. Finished (`done`) jobs are deleted after `outbox.retention_hours`; failed
/// ones stay until retried. Also `passwright jobs list`. Unknown query parameters answer 422
/// `invalid_query`.
///
/// Roles: `admin` (without a program scope).
#[utoipa::path(
    get,
    path = "/api/v1/outbox/jobs",
    operation_id = "listOutboxJobs",
    tag = "operations",
    params(JobQuery),
    responses(
        (status = 200, description = "The jobs.", body = JobList),
        (status = 401, response = Unauthorized),
        (status = 403, description = "`forbidden`: not an admin key, or an admin key limited to a program (device logs and the outbox span all programs).", body = ErrorBody),
        (status = 422, description = "`validation_failed` (`field`: `state`): `state` is not `pending`, `running`, `done` or `failed`; `invalid_query`: a parameter of the wrong type, or an unknown parameter.", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn jobs(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<JobQuery>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let wanted = JobState::parse(query.state.as_deref().unwrap_or("failed"))
        .ok_or_else(|| Invalid::new("state", "must be pending, running, done or failed"))?;
    let jobs = state
        .store
        .jobs_in_state(wanted.as_str(), query.limit.unwrap_or(100))
        .await?;
    Ok(HttpResponse::Ok().json(JobList {
        jobs: jobs.into_iter().map(JobView::new).collect(),
    }))
}

/// Retry a failed job
///
/// Puts a failed job back to `pending`, due at once. Its attempt count starts again, so it
/// gets `outbox.max_attempts` attempts anew. If a pending job for the same target exists
/// already, that one covers it and this one is closed as `done` (superseded). Takes no body.
/// Also `passwright jobs retry`.
///
/// Roles: `admin` (without a program scope).
#[utoipa::path(
    post,
    path = "/api/v1/outbox/jobs/{id}/retry",
    operation_id = "retryOutboxJob",
    tag = "operations",
    params(("id" = i64, Path, description = "The job's id (`id` in `GET /api/v1/outbox/jobs`).")),
    responses(
        (status = 202, description = "The job is queued again.", body = Retried),
        (status = 401, response = Unauthorized),
        (status = 403, description = "`forbidden`: not an admin key, or an admin key limited to a program (device logs and the outbox span all programs).", body = ErrorBody),
        (status = 404, description = "`not_found`: no failed job has this id (it does not exist, or is not `failed`).", body = ErrorBody),
        (status = 500, response = InternalError),
    )
)]
async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator(&caller)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("failed job"));
    };
    if !state.store.retry_failed_job(id, state.clock.now()).await? {
        return Err(ApiError::not_found("failed job"));
    }
    Ok(HttpResponse::Accepted().json(Retried {
        id,
        state: "pending",
    }))
}
