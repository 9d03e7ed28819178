//! Routes registered from their documentation: a handler's `#[utoipa::path]` names its method
//! and path once, and [`Routes::add`] registers it there, so the OpenAPI document and the
//! router cannot disagree about where an operation lives.
//!
//! Operations on one path share one actix resource, whose other methods answer the API's
//! JSON 405 (actix's own 405 has no body) or, for the areas outside the API, actix's own.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Resource, Responder, Route};
use utoipa::openapi::path::HttpMethod;

use crate::http::error::no_method;

/// One operation as registered: its method and full path, as the document has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub method: Method,
    pub path: String,
}

/// Collects an area's routes by path, then registers one resource per path in the order the
/// paths first appeared (patterns are matched in that order).
pub struct Routes {
    /// The scope the routes are registered under (`/api/v1`); documented paths start with it.
    scope: &'static str,
    /// What other methods on a registered path answer; `None`: actix's empty 405 with `Allow`.
    other_methods: Option<fn() -> Route>,
    resources: Vec<(String, Resource)>,
    registered: Vec<Registered>,
}

impl Routes {
    /// The API's routes under `scope`: other methods answer its JSON 405.
    pub fn new(scope: &'static str) -> Routes {
        Routes::with_other_methods(scope, Some(|| web::to(no_method)))
    }

    /// Routes under `scope` (`""` for the root) whose other methods answer `other_methods`,
    /// or actix's empty 405 with an `Allow` header when it is `None` (the PassKit web service,
    /// downloads, health: clients that look only at the status).
    pub fn with_other_methods(scope: &'static str, other_methods: Option<fn() -> Route>) -> Routes {
        Routes {
            scope,
            other_methods,
            resources: Vec::new(),
            registered: Vec::new(),
        }
    }

    /// Registers `handler` at the method and path `doc` (the `__path_` type
    /// `#[utoipa::path]` makes for the handler) documents.
    pub fn add<P, F, Args>(&mut self, _doc: P, handler: F) -> &mut Routes
    where
        P: utoipa::Path,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let path = P::path();
        let Some(relative) = path.strip_prefix(self.scope).map(str::to_string) else {
            // A programming error the route tests catch: the operation is documented outside
            // the scope it is registered in, so it answers 404 there.
            tracing::error!(%path, scope = self.scope, "documented path outside its scope");
            return self;
        };
        for method in P::methods() {
            let method = actix_method(&method);
            self.registered.push(Registered {
                method: method.clone(),
                path: path.clone(),
            });
            let route = web::method(method).to(handler.clone());
            match self.resources.iter_mut().find(|(p, _)| *p == relative) {
                Some((_, resource)) => {
                    let taken = std::mem::replace(resource, web::resource(""));
                    *resource = taken.route(route);
                }
                None => {
                    let mut resource = web::resource(relative.as_str());
                    if let Some(other) = self.other_methods {
                        resource = resource.default_service(other());
                    }
                    self.resources
                        .push((relative.clone(), resource.route(route)));
                }
            }
        }
        self
    }

    /// Gives the resource of the path `doc` documents (added with [`Routes::add`] first)
    /// `data`, e.g. a larger body limit (`web::PayloadConfig`) for one operation's path.
    pub fn app_data<P: utoipa::Path, U: 'static>(&mut self, _doc: P, data: U) -> &mut Routes {
        let path = P::path();
        let relative = path.strip_prefix(self.scope).unwrap_or(&path);
        match self.resources.iter_mut().find(|(p, _)| p == relative) {
            Some((_, resource)) => {
                let taken = std::mem::replace(resource, web::resource(""));
                *resource = taken.app_data(data);
            }
            None => tracing::error!(%path, "app_data for a path with no route"),
        }
        self
    }

    /// The scope the paths are registered under; every registered path starts with it.
    pub fn scope(&self) -> &'static str {
        self.scope
    }

    /// The operations added so far, in the order they were added.
    pub fn registered(&self) -> &[Registered] {
        &self.registered
    }

    /// Hands the resources to actix.
    pub fn register(self, cfg: &mut web::ServiceConfig) -> Vec<Registered> {
        for (_, resource) in self.resources {
            cfg.service(resource);
        }
        self.registered
    }
}

fn actix_method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}
