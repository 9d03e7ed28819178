//! A simulated Wallet device: it speaks the PassKit web service the way an iPhone does,
//! keeping its own `lastUpdated` tag between calls.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{reply, Reply, TestApp};
use crate::passes::unzip;

/// What a device learns from a pass it installed.
#[derive(Debug, Clone)]
pub struct InstalledPass {
    pub serial: String,
    pub pass_type: String,
    pub auth: String,
    pub web_service_url: String,
}

/// Downloads the member's pass the way a customer would get it and reads what Wallet keeps.
pub async fn install(app: &TestApp, member: &str) -> InstalledPass {
    let r = app
        .get(&format!("/api/v1/members/{member}/pass"), &app.admin)
        .await;
    assert_eq!(r.status, 200);
    pass_of(&r.bytes)
}

pub fn pass_json(pkpass: &[u8]) -> Value {
    serde_json::from_slice(&unzip(pkpass)["pass.json"]).unwrap()
}

fn pass_of(pkpass: &[u8]) -> InstalledPass {
    let p = pass_json(pkpass);
    InstalledPass {
        serial: p["serialNumber"].as_str().unwrap().into(),
        pass_type: p["passTypeIdentifier"].as_str().unwrap().into(),
        auth: p["authenticationToken"].as_str().unwrap().into(),
        web_service_url: p["webServiceURL"].as_str().unwrap().into(),
    }
}

pub struct Device {
    pub id: String,
    pub push_token: String,
    pub tag: Option<String>,
    client: reqwest::Client,
}

impl Device {
    pub fn new(id: &str, push_token: &str) -> Device {
        Device {
            id: id.into(),
            push_token: push_token.into(),
            tag: None,
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: Method,
        url: String,
        auth: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, url);
        if let Some(a) = auth {
            req = req.header("Authorization", format!("ApplePass {a}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.unwrap()).await
    }

    pub async fn register(&self, pass: &InstalledPass) -> StatusCode {
        self.call(
            Method::POST,
            format!(
                "{}/v1/devices/{}/registrations/{}/{}",
                pass.web_service_url, self.id, pass.pass_type, pass.serial
            ),
            Some(&pass.auth),
            Some(json!({ "pushToken": self.push_token })),
            &[],
        )
        .await
        .status
    }

    pub async fn unregister(&self, pass: &InstalledPass) -> StatusCode {
        self.call(
            Method::DELETE,
            format!(
                "{}/v1/devices/{}/registrations/{}/{}",
                pass.web_service_url, self.id, pass.pass_type, pass.serial
            ),
            Some(&pass.auth),
            None,
            &[],
        )
        .await
        .status
    }

    /// Asks which passes changed since the last answer, and keeps the new tag as Wallet does.
    pub async fn updated(
        &mut self,
        web_service_url: &str,
        pass_type: &str,
    ) -> (StatusCode, Vec<String>) {
        let mut url = format!(
            "{web_service_url}/v1/devices/{}/registrations/{pass_type}",
            self.id
        );
        if let Some(tag) = &self.tag {
            url.push_str(&format!("?passesUpdatedSince={tag}"));
        }
        let r = self.call(Method::GET, url, None, None, &[]).await;
        if r.status == 200 {
            let tag = r.body["lastUpdated"].as_str().unwrap().to_string();
            assert_ne!(Some(&tag), self.tag.as_ref(), "lastUpdated must advance");
            self.tag = Some(tag);
            let serials = r.body["serialNumbers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            return (r.status, serials);
        }
        (r.status, Vec::new())
    }

    pub async fn fetch(&self, pass: &InstalledPass, if_modified_since: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = if_modified_since
            .map(|v| vec![("If-Modified-Since", v)])
            .unwrap_or_default();
        self.call(
            Method::GET,
            format!(
                "{}/v1/passes/{}/{}",
                pass.web_service_url, pass.pass_type, pass.serial
            ),
            Some(&pass.auth),
            None,
            &headers,
        )
        .await
    }
}

/// A push token that is unique per test and recognisable in the stand-in's records.
pub fn push_token(n: u32) -> String {
    format!("{n:08x}{}", "ab".repeat(28))
}
