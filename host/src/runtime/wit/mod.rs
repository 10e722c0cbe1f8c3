//! The API versions this host speaks, side by side, the way Zed's
//! `extension_host` keeps `since_v0_X_Y.rs`: one module per released WIT
//! version, each with its own bindings and conversions into the host's
//! model. The rest of the runtime sees [`ApiVersion`], [`FlowPre`] and
//! [`FlowExports`], never a generated type.

pub mod since_v0_1_0;
pub mod since_v0_2_0;
pub mod since_v0_3_0;
mod unchanged;

use crate::model::FlowInfo;
use crate::runtime::StoreData;
use std::fmt;
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

/// A released version of `demo:flow` this host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    V0_1_0,
    V0_2_0,
    V0_3_0,
}

impl ApiVersion {
    /// Oldest first.
    pub const ALL: [ApiVersion; 3] = [ApiVersion::V0_1_0, ApiVersion::V0_2_0, ApiVersion::V0_3_0];
    pub const LATEST: ApiVersion = ApiVersion::V0_3_0;

    pub fn semver(self) -> semver::Version {
        match self {
            ApiVersion::V0_1_0 => since_v0_1_0::VERSION,
            ApiVersion::V0_2_0 => since_v0_2_0::VERSION,
            ApiVersion::V0_3_0 => since_v0_3_0::VERSION,
        }
    }

    /// The version whose module runs a flow that imports `demo:flow@text`.
    /// A patch release only adds documentation, so any `0.1.z` is 0.1.0's.
    pub fn for_imported(text: &str) -> Result<ApiVersion, VersionMismatch> {
        let wanted = semver::Version::parse(text)
            .map_err(|_| VersionMismatch::Unreadable(text.to_string()))?;
        let same_line = |v: &semver::Version| {
            if v.major == 0 {
                v.minor == wanted.minor && wanted.major == 0
            } else {
                v.major == wanted.major
            }
        };
        if let Some(version) = Self::ALL
            .into_iter()
            .rev()
            .find(|v| same_line(&v.semver()) && v.semver() <= wanted)
        {
            return Ok(version);
        }
        if wanted > Self::LATEST.semver() {
            Err(VersionMismatch::Newer(wanted))
        } else {
            Err(VersionMismatch::Unsupported(wanted))
        }
    }

    /// What this host speaks, for messages: `demo:flow@0.1.0` or a range.
    pub fn supported() -> String {
        let oldest = Self::ALL[0].semver();
        let newest = Self::LATEST.semver();
        if oldest == newest {
            format!("demo:flow@{newest}")
        } else {
            format!("demo:flow@{oldest} to {newest}")
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "demo:flow@{}", self.semver())
    }
}

/// Why a flow's API version cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionMismatch {
    #[error(
        "was built for demo:flow@{0}, newer than this host ({supported}): upgrade the host, or rebuild the flow against guest-sdk for {latest}",
        supported = ApiVersion::supported(),
        latest = ApiVersion::LATEST.semver()
    )]
    Newer(semver::Version),
    #[error(
        "was built for demo:flow@{0}, which this host does not speak ({supported}): rebuild the flow against this host's guest-sdk",
        supported = ApiVersion::supported()
    )]
    Unsupported(semver::Version),
    #[error(
        "imports demo:flow with a version this host cannot read ({0:?}): rebuild it against this host's guest-sdk"
    )]
    Unreadable(String),
}

/// Adds every version's imports to the one linker.
pub fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    since_v0_1_0::add_to_linker(linker)?;
    since_v0_2_0::add_to_linker(linker)?;
    since_v0_3_0::add_to_linker(linker)
}

/// A linked flow of a known version, ready to instantiate.
pub enum FlowPre {
    V0_1_0(since_v0_1_0::FlowPre),
    V0_2_0(since_v0_2_0::FlowPre),
    V0_3_0(since_v0_3_0::FlowPre),
}

impl FlowPre {
    /// Checks that the component exports what `version`'s world needs.
    pub fn new(version: ApiVersion, pre: InstancePre<StoreData>) -> wasmtime::Result<Self> {
        Ok(match version {
            ApiVersion::V0_1_0 => FlowPre::V0_1_0(since_v0_1_0::FlowPre::new(pre)?),
            ApiVersion::V0_2_0 => FlowPre::V0_2_0(since_v0_2_0::FlowPre::new(pre)?),
            ApiVersion::V0_3_0 => FlowPre::V0_3_0(since_v0_3_0::FlowPre::new(pre)?),
        })
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        match self {
            FlowPre::V0_1_0(pre) => pre.engine(),
            FlowPre::V0_2_0(pre) => pre.engine(),
            FlowPre::V0_3_0(pre) => pre.engine(),
        }
    }

    pub async fn instantiate(&self, store: &mut Store<StoreData>) -> wasmtime::Result<FlowExports> {
        Ok(match self {
            FlowPre::V0_1_0(pre) => FlowExports::V0_1_0(pre.instantiate_async(store).await?),
            FlowPre::V0_2_0(pre) => FlowExports::V0_2_0(pre.instantiate_async(store).await?),
            FlowPre::V0_3_0(pre) => FlowExports::V0_3_0(pre.instantiate_async(store).await?),
        })
    }
}

/// A flow instance's exports, whatever version it was built for.
pub enum FlowExports {
    V0_1_0(since_v0_1_0::Flow),
    V0_2_0(since_v0_2_0::Flow),
    V0_3_0(since_v0_3_0::Flow),
}

impl FlowExports {
    pub async fn describe(&self, store: &mut Store<StoreData>) -> wasmtime::Result<FlowInfo> {
        match self {
            FlowExports::V0_1_0(flow) => since_v0_1_0::describe(flow, store).await,
            FlowExports::V0_2_0(flow) => since_v0_2_0::describe(flow, store).await,
            FlowExports::V0_3_0(flow) => since_v0_3_0::describe(flow, store).await,
        }
    }

    pub async fn enter(
        &self,
        store: &mut Store<StoreData>,
        index: u32,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            FlowExports::V0_1_0(flow) => since_v0_1_0::enter(flow, store, index).await,
            FlowExports::V0_2_0(flow) => since_v0_2_0::enter(flow, store, index).await,
            FlowExports::V0_3_0(flow) => since_v0_3_0::enter(flow, store, index).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_versions_map_to_the_module_that_speaks_them() {
        assert_eq!(ApiVersion::for_imported("0.1.0"), Ok(ApiVersion::V0_1_0));
        // A patch release only adds documentation.
        assert_eq!(ApiVersion::for_imported("0.1.7"), Ok(ApiVersion::V0_1_0));
        assert!(matches!(
            ApiVersion::for_imported("9.0.0"),
            Err(VersionMismatch::Newer(_))
        ));
        assert_eq!(ApiVersion::for_imported("0.2.0"), Ok(ApiVersion::V0_2_0));
        assert_eq!(ApiVersion::for_imported("0.2.3"), Ok(ApiVersion::V0_2_0));
        assert_eq!(ApiVersion::for_imported("0.3.0"), Ok(ApiVersion::V0_3_0));
        // 0.x minor versions are different APIs.
        assert!(matches!(
            ApiVersion::for_imported("0.4.0"),
            Err(VersionMismatch::Newer(_))
        ));
        assert!(matches!(
            ApiVersion::for_imported("0.0.9"),
            Err(VersionMismatch::Unsupported(_))
        ));
        assert!(matches!(
            ApiVersion::for_imported("zero"),
            Err(VersionMismatch::Unreadable(_))
        ));
    }

    #[test]
    fn mismatch_messages_name_both_versions_and_what_to_do() {
        let newer = ApiVersion::for_imported("9.0.0").unwrap_err().to_string();
        assert_eq!(
            newer,
            "was built for demo:flow@9.0.0, newer than this host (demo:flow@0.1.0 to 0.3.0): upgrade the host, or rebuild the flow against guest-sdk for 0.3.0"
        );
    }

    #[test]
    fn versions_are_listed_oldest_first_and_latest_is_last() {
        let mut sorted = ApiVersion::ALL;
        sorted.sort();
        assert_eq!(sorted, ApiVersion::ALL);
        assert_eq!(*ApiVersion::ALL.last().unwrap(), ApiVersion::LATEST);
    }
}
