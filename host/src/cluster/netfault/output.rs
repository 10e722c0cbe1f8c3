//! What a finished netfault helper said, whichever orchestrator ran it.

/// What a finished helper said.
#[derive(Debug, Clone)]
pub struct HelperOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl HelperOutput {
    /// The helper's own words on why it failed: its last stderr line, or the
    /// last failed step it printed.
    pub fn why(&self) -> String {
        let failed_step = self.stdout.lines().rev().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let failed = v.get("ok") == Some(&serde_json::Value::Bool(false))
                || v.get("outcome").and_then(|o| o.as_str()) == Some("failed");
            failed.then(|| {
                let argv = v["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                let stderr = v["stderr"].as_str().unwrap_or("").trim().to_string();
                format!("`{argv}` failed: {stderr}")
            })
        });
        failed_step
            .or_else(|| {
                self.stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| format!("the helper exited with {}", self.exit_code))
    }
}
