//! A local stand-in for Twilio's Messages API on 127.0.0.1: records the path, the basic-auth
//! user and password and the form fields of every request, and answers `201` with a JSON
//! `sid` (`SM` and a counter), or a status it was told to give to the next requests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct SmsRequest {
    pub path: String,
    /// From `Authorization: Basic`.
    pub user: String,
    pub password: String,
    pub form: BTreeMap<String, String>,
    pub status: u16,
    /// The sid answered with a 201.
    pub sid: Option<String>,
}

#[derive(Default)]
struct State {
    requests: Vec<SmsRequest>,
    scripted: VecDeque<u16>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct FakeSms {
    shared: Arc<Shared>,
    address: String,
    server: ServerHandle,
}

impl FakeSms {
    pub async fn start() -> FakeSms {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeSms {
            shared,
            address,
            server: handle,
        }
    }

    /// What `sms.base_url` is set to.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The next `times` requests are answered `status` (with a Twilio-style error body).
    pub fn answer_next(&self, status: u16, times: usize) {
        let mut state = self.shared.state();
        state.scripted.extend(std::iter::repeat_n(status, times));
    }

    pub fn requests(&self) -> Vec<SmsRequest> {
        self.shared.state().requests.clone()
    }
}

impl Drop for FakeSms {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

async fn handle(
    shared: web::Data<Shared>,
    req: HttpRequest,
    form: web::Form<BTreeMap<String, String>>,
) -> HttpResponse {
    let mut state = shared.state();
    let status = state.scripted.pop_front().unwrap_or(201);
    let (user, password) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        })
        .unwrap_or_default();
    let sid = (status == 201).then(|| format!("SM{:032}", state.requests.len() + 1));
    state.requests.push(SmsRequest {
        path: req.uri().to_string(),
        user,
        password,
        form: form.into_inner(),
        status,
        sid: sid.clone(),
    });
    let body = match &sid {
        Some(sid) => json!({"sid": sid, "status": "queued"}),
        None => json!({"code": 20500, "message": "Internal Server Error", "status": status}),
    };
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(body)
}
