//! A local webhook receiver on 127.0.0.1: records the method, path, headers and raw body of
//! every request it gets, and answers 200, or a status it was told to give (a number of
//! times, then 200 again; or from then on).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

/// One request as it arrived, with the status it was answered with.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Received>,
    /// Answers to give before 200 again, first one next.
    scripted: VecDeque<u16>,
    /// Given to every request once set (and the script is used up).
    always: Option<u16>,
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

pub struct WebhookReceiver {
    shared: Arc<Shared>,
    address: String,
    server: ServerHandle,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        WebhookReceiver {
            shared,
            address,
            server: handle,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The next `times` requests are answered `status`.
    pub fn answer_next(&self, status: u16, times: usize) {
        let mut state = self.shared.state();
        state.scripted.extend(std::iter::repeat_n(status, times));
    }

    /// Every request from now on is answered `status`.
    pub fn answer_always(&self, status: u16) {
        self.shared.state().always = Some(status);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.state().requests.clone()
    }

    /// The requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        // Sends the stop command at once; the returned future only waits for completion.
        drop(self.server.stop(false));
    }
}

async fn handle(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut state = shared.state();
    let status = state.scripted.pop_front().or(state.always).unwrap_or(200);
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    state.requests.push(Received {
        method: req.method().to_string(),
        path: req.uri().to_string(),
        headers,
        body: body.to_vec(),
        status,
    });
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).finish()
}
