//! Apple Wallet `.pkpass`: certificates, signing, packaging, images, localisation.

pub mod certs;
pub mod images;
pub mod package;
pub mod pass_json;
mod signature;
pub mod strings;

pub use certs::{CertError, CertFiles, CertWarning, PassSigner, SignerFiles};
pub use package::{build_pkpass, PackageError, PassAssets, PKPASS_CONTENT_TYPE};
