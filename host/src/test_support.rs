//! Helpers for unit tests that need a real container. Such a test is
//! `#[ignore = "needs a Docker engine"]` (a plain `cargo test` reports it as
//! ignored, never as passed; `scripts/test.sh` runs it with
//! `--include-ignored`), its name ends in `_with_docker`, and it starts with
//! [`require_docker_engine`], which fails it plainly where no engine answers.

use std::time::Duration;

/// Fails the test `test` unless a Docker engine answers `docker version`
/// through the Engine API at DOCKER_HOST or the local socket, the way
/// `Cluster::connect` reaches it: a test that was asked to run is never
/// counted as passed without one.
pub async fn require_docker_engine(test: &str) {
    let probe = async { bollard::Docker::connect_with_defaults()?.version().await };
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!(
            "{test} needs a Docker engine and none answers ({e}): start one or set DOCKER_HOST, or run the tests without --include-ignored"
        ),
        Err(_) => panic!(
            "{test} needs a Docker engine, and the engine did not answer within 5 s: check it, or run the tests without --include-ignored"
        ),
    }
}

/// One etcd container of a fake compose project (the labels are what the host
/// looks for; the image is the one `scripts/setup.sh` builds), removed with its
/// volumes even when the test fails.
pub struct EtcdContainer {
    pub name: String,
}

impl EtcdContainer {
    pub fn start(project: &str, service: &str) -> Self {
        let name = format!("{project}-{service}");
        let guard = EtcdContainer { name: name.clone() };
        let status = std::process::Command::new("docker")
            .args(["run", "-d", "--name", &name, "--label"])
            .arg(format!("com.docker.compose.project={project}"))
            .arg("--label")
            .arg(format!("com.docker.compose.service={service}"))
            .arg("demo-etcd:3.4.23")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running docker");
        assert!(status.success(), "docker run {name} failed");
        guard
    }

    pub fn restart(&self) {
        let status = std::process::Command::new("docker")
            .args(["restart", "-t", "1", &self.name])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running docker");
        assert!(status.success(), "docker restart {} failed", self.name);
    }
}

impl EtcdContainer {
    /// `docker kill`: from outside the presenter, as a crash or an operator would.
    pub fn kill(&self) {
        let status = std::process::Command::new("docker")
            .args(["kill", &self.name])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running docker");
        assert!(status.success(), "docker kill {} failed", self.name);
    }
}

impl Drop for EtcdContainer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
