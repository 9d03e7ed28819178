//! The development sink for email and SMS: each message becomes one file in a folder under
//! the data directory, and a log line says where, so nothing is sent and nothing is dropped
//! silently.

use std::path::{Path, PathBuf};

use super::outcome::SendOutcome;

#[derive(Debug, Clone)]
pub struct Folder {
    dir: PathBuf,
}

impl Folder {
    pub fn new(dir: PathBuf) -> Folder {
        Folder { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `contents` as `name`; the same name again (a retried message) replaces it.
    pub async fn write(&self, name: &str, contents: &[u8]) -> SendOutcome {
        let path = self.dir.join(name);
        let written = async {
            tokio::fs::create_dir_all(&self.dir).await?;
            tokio::fs::write(&path, contents).await
        }
        .await;
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "message written to the folder, not sent");
                SendOutcome::Delivered {
                    reference: format!("file:{}", path.display()),
                }
            }
            Err(e) => SendOutcome::Retry {
                reason: format!("writing {}: {e}", path.display()),
            },
        }
    }
}
