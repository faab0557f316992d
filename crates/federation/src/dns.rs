//! [`TxtLookup`] on the system's resolvers (hickory-resolver).

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::proto::ProtoErrorKind;

use crate::FederationError;
use crate::domains::TxtLookup;

pub struct HickoryTxtLookup {
    /// A machine without a resolver configuration still starts: only a DNS check fails.
    resolver: Result<TokioResolver, String>,
}

impl HickoryTxtLookup {
    /// A resolver from the system's configuration (`/etc/resolv.conf`).
    pub fn from_system() -> Self {
        let resolver = TokioResolver::builder_tokio()
            .map(|builder| builder.build())
            .map_err(|e| e.to_string());
        Self { resolver }
    }
}

#[async_trait]
impl TxtLookup for HickoryTxtLookup {
    async fn txt(&self, name: &str) -> Result<Vec<String>, FederationError> {
        let resolver = self
            .resolver
            .as_ref()
            .map_err(|e| FederationError::Unavailable(format!("DNS resolver: {e}")))?;
        match resolver.txt_lookup(name).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    // A TXT record is a list of strings that form one value together.
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>()
                })
                .collect()),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => match e.proto().map(|p| p.kind()) {
                Some(ProtoErrorKind::NoRecordsFound { .. }) => Ok(Vec::new()),
                _ => Err(FederationError::Unavailable(format!(
                    "DNS lookup of {name}: {e}"
                ))),
            },
        }
    }
}
