//! Helpers for unit tests that need a real container.

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
