//! The cluster panel of the dashboard: a pure function of [`App`], drawn by
//! `ui.rs` into the area it lays out (and by the scale bench alone).
//!
//! When every node fits, one row per node, coloured by state, with how long
//! it has been in that state. When they do not (a project of hundreds of
//! containers), the nodes that need the audience's eyes come first, one row
//! each: those with an outstanding fault, then those not running (or
//! unhealthy); then one row per service with its counts by state; and, if
//! even that does not fit, a last line saying how much is not shown. So a
//! faulted node is never hidden behind a healthy one.

use crate::app::App;
use crate::cluster::{Health, Node, NodeState, state_name};
use crate::sanitize::display_line;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Row, Table, Wrap};
use std::collections::{HashMap, HashSet};

/// "42s", "3m05s", "1h02m": short enough for a table cell.
pub fn short_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
}

pub fn state_color(state: NodeState) -> Color {
    match state {
        NodeState::Running => Color::Green,
        NodeState::Paused => Color::Yellow,
        NodeState::Restarting | NodeState::Created => Color::Blue,
        NodeState::Exited | NodeState::Dead | NodeState::Removing => Color::Red,
    }
}

/// Every state, in the order a service's counts are listed.
const STATES: [NodeState; 7] = [
    NodeState::Running,
    NodeState::Exited,
    NodeState::Dead,
    NodeState::Paused,
    NodeState::Restarting,
    NodeState::Created,
    NodeState::Removing,
];

fn slot(state: NodeState) -> usize {
    match state {
        NodeState::Running => 0,
        NodeState::Exited => 1,
        NodeState::Dead => 2,
        NodeState::Paused => 3,
        NodeState::Restarting => 4,
        NodeState::Created => 5,
        NodeState::Removing => 6,
    }
}

/// One service's containers, counted by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCounts<'a> {
    pub service: &'a str,
    pub total: usize,
    /// Indexed as [`STATES`].
    counts: [usize; 7],
}

impl ServiceCounts<'_> {
    pub fn count(&self, state: NodeState) -> usize {
        self.counts[slot(state)]
    }

    /// The states other than running that some of its containers are in.
    pub fn others(&self) -> impl Iterator<Item = (NodeState, usize)> + '_ {
        STATES[1..]
            .iter()
            .map(|&s| (s, self.count(s)))
            .filter(|&(_, n)| n > 0)
    }
}

/// One line of the panel, inside its border.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelLine<'a> {
    /// A node, and its outstanding fault (as the cluster describes it).
    Node {
        node: &'a Node,
        fault: Option<&'a str>,
    },
    Service(ServiceCounts<'a>),
    /// How many containers no line above accounts for, and how many of
    /// them have an outstanding fault.
    NotShown {
        containers: usize,
        faulted: usize,
    },
}

/// What the panel shows in `rows` lines: every node (today's table) when they
/// fit, else the grouped view described at the top of this file.
pub fn lines<'a>(app: &'a App, rows: usize) -> Vec<PanelLine<'a>> {
    let faulted = app.faulted();
    if app.nodes.len() <= rows {
        return app
            .nodes
            .iter()
            .map(|node| PanelLine::Node {
                node,
                fault: faulted.get(node.id.as_str()).copied(),
            })
            .collect();
    }
    grouped(&app.nodes, &faulted, rows)
}

fn needs_eyes(node: &Node) -> bool {
    node.state != NodeState::Running || node.health == Health::Unhealthy
}

fn grouped<'a>(
    nodes: &'a [Node],
    faulted: &HashMap<&'a str, &'a str>,
    rows: usize,
) -> Vec<PanelLine<'a>> {
    if rows == 0 {
        return Vec::new();
    }
    let is_faulted = |n: &Node| faulted.contains_key(n.id.as_str());
    // Faulted first, then the rest that need a look; each in list order.
    let singles: Vec<&Node> = nodes
        .iter()
        .filter(|n| is_faulted(n))
        .chain(nodes.iter().filter(|n| !is_faulted(n) && needs_eyes(n)))
        .collect();
    let mut services: Vec<ServiceCounts> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for node in nodes {
        let i = *index.entry(node.service.as_str()).or_insert_with(|| {
            services.push(ServiceCounts {
                service: &node.service,
                total: 0,
                counts: [0; 7],
            });
            services.len() - 1
        });
        services[i].total += 1;
        services[i].counts[slot(node.state)] += 1;
    }
    let wanted = singles.len() + services.len();
    // Room for everything, or for all but a last line that says what is left.
    let shown = if wanted <= rows {
        wanted
    } else {
        rows.saturating_sub(1)
    };
    let singles_shown = singles.len().min(shown);
    let services_shown = services.len().min(shown - singles_shown);
    let mut lines: Vec<PanelLine> = singles[..singles_shown]
        .iter()
        .map(|&node| PanelLine::Node {
            node,
            fault: faulted.get(node.id.as_str()).copied(),
        })
        .collect();
    if wanted > rows {
        // A shown service line accounts for its containers; a node line for
        // itself. The faulted ones left out are all beyond the lines shown.
        let grouped_in: HashSet<&str> = services[..services_shown]
            .iter()
            .map(|s| s.service)
            .collect();
        let single_ids: HashSet<&str> = singles[..singles_shown]
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        let left_out = nodes.iter().filter(|n| {
            !single_ids.contains(n.id.as_str()) && !grouped_in.contains(n.service.as_str())
        });
        let (mut containers, mut faulted_left) = (0, 0);
        for node in left_out {
            containers += 1;
            faulted_left += usize::from(is_faulted(node));
        }
        lines.extend(
            services
                .into_iter()
                .take(services_shown)
                .map(PanelLine::Service),
        );
        lines.push(PanelLine::NotShown {
            containers,
            faulted: faulted_left,
        });
        return lines;
    }
    lines.extend(services.into_iter().map(PanelLine::Service));
    lines
}

/// How tall (border included) the panel wants to be with at most `max`
/// rows: one row per node when they fit, else the grouped view's lines.
pub fn height(app: &App, max: u16) -> u16 {
    let all = u16::try_from(app.nodes.len().max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    if all <= max || app.docker_unavailable.is_some() {
        return all;
    }
    let inner = max.saturating_sub(2) as usize;
    (lines(app, inner).len() as u16 + 2).min(max)
}

/// A node's row: state, time in it and name; in the grouped view a node
/// with an outstanding fault also says what the fault was.
fn node_row<'a>(app: &App, node: &'a Node, fault: Option<&'a str>) -> Row<'a> {
    let color = state_color(node.state);
    let since = app
        .time_in_state(node)
        .map(short_duration)
        .unwrap_or_default();
    let mut name = vec![Span::raw(display_line(&node.container)).dim()];
    if let Some(fault) = fault {
        name.push(Span::raw("  "));
        name.push(Span::styled(
            display_line(fault),
            Style::new().fg(Color::Red).bold(),
        ));
    }
    Row::new(vec![
        Line::from(Span::styled("●", Style::new().fg(color))),
        Line::from(display_line(&node.service)),
        Line::from(Span::styled(
            state_name(node.state),
            Style::new().fg(color).bold(),
        )),
        Line::from(since),
        Line::from(name),
    ])
}

fn service_row<'a>(counts: &ServiceCounts<'a>) -> Row<'a> {
    let running = counts.count(NodeState::Running);
    let color = match running {
        n if n == counts.total => Color::Green,
        0 => Color::Red,
        _ => Color::Yellow,
    };
    let mut others: Vec<Span> = Vec::new();
    for (state, n) in counts.others() {
        if !others.is_empty() {
            others.push(Span::raw(" · ").dim());
        }
        others.push(Span::styled(
            format!("{} {n}", state_name(state)),
            Style::new().fg(state_color(state)),
        ));
    }
    Row::new(vec![
        Line::from(Span::styled("●", Style::new().fg(color))),
        Line::from(display_line(counts.service)),
        Line::from(Span::styled(
            format!("running {running}/{}", counts.total),
            Style::new().fg(color).bold(),
        )),
        Line::from(""),
        Line::from(others),
    ])
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" Cluster ");
    if let Some(why) = &app.docker_unavailable {
        let text = Paragraph::new(format!("Docker unavailable: {}", display_line(why)))
            .style(Style::new().fg(Color::Red))
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(text, area);
        return;
    }
    if app.nodes.is_empty() {
        frame.render_widget(
            Paragraph::new("no containers in this project").block(block),
            area,
        );
        return;
    }
    let rows = block.inner(area).height as usize;
    if app.nodes.len() <= rows {
        let rows = app.nodes.iter().map(|node| node_row(app, node, None));
        let table = Table::new(
            rows,
            [
                Constraint::Length(1),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Fill(1),
            ],
        )
        .block(block);
        frame.render_widget(table, area);
        return;
    }
    let block =
        block.title_top(Line::from(format!(" {} containers ", app.nodes.len())).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = lines(app, rows);
    let mut table_area = inner;
    if let Some(PanelLine::NotShown {
        containers,
        faulted,
    }) = lines.last()
    {
        let mut text = format!("… {containers} more containers not shown");
        if *faulted > 0 {
            text.push_str(&format!(" ({faulted} with a fault)"));
        }
        let style = if *faulted > 0 {
            Style::new().fg(Color::Red).bold()
        } else {
            Style::new().dim()
        };
        table_area.height = inner.height.saturating_sub(1);
        let last = Rect {
            y: inner.y + table_area.height,
            height: 1,
            ..inner
        };
        frame.render_widget(Line::from(Span::styled(text, style)), last);
    }
    let rows = lines.iter().filter_map(|line| match line {
        PanelLine::Node { node, fault } => Some(node_row(app, node, *fault)),
        PanelLine::Service(counts) => Some(service_row(counts)),
        PanelLine::NotShown { .. } => None,
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(10),
            Constraint::Length(15),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
    );
    frame.render_widget(table, table_area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterEvent, ContainerAction, KillSignal, NetworkAction, Performed};
    use crate::events::Event;
    use crate::model::{Capabilities, FlowInfo};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::time::Instant;

    /// `n` containers of ten services, `svc00`…`svc09`, sorted as Docker
    /// lists them, all running.
    fn nodes(n: usize) -> Vec<Node> {
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| {
                let service = format!("svc{:02}", i % 10);
                let container = format!("big-{service}-{}", i / 10 + 1);
                Node::fixture(service, container, format!("id{i:03}"), NodeState::Running)
            })
            .collect();
        nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        nodes
    }

    fn app_with(nodes: Vec<Node>) -> App {
        let mut app = App::new(
            FlowInfo {
                name: "big".into(),
                version: "0.1.0".into(),
                description: String::new(),
                chapters: vec![],
                capabilities: Capabilities {
                    faults: vec![],
                    reads_workload: false,
                    http_probes: vec![],
                    memory_mib: 0,
                },
                default_workload: None,
                hypotheses: Vec::new(),
            },
            Instant::now(),
        );
        app.on_event(Event::Cluster(ClusterEvent::NodesChanged(nodes)));
        app
    }

    fn perform(app: &mut App, node: &Node, action: crate::cluster::Action) {
        app.on_event(Event::Cluster(ClusterEvent::Performed(Performed {
            action,
            service: node.service.clone(),
            container: node.container.clone(),
            id: node.id.clone(),
        })));
    }

    /// The panel alone drawn into `width`×`height`, as text rows.
    fn panel(app: &App, width: u16, height: u16) -> (Vec<String>, ratatui::buffer::Buffer) {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| render(app, frame, frame.area()))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        let rows = (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect();
        (rows, buffer)
    }

    #[test]
    fn three_hundred_nodes_in_twenty_rows_show_the_exited_first_then_each_service() {
        let mut nodes = nodes(300);
        // Two exited, far down the list (svc04's and svc09's).
        nodes[130].state = NodeState::Exited;
        nodes[299].state = NodeState::Exited;
        let (first, second) = (nodes[130].container.clone(), nodes[299].container.clone());
        let app = app_with(nodes);
        let (rows, buffer) = panel(&app, 80, 20);
        assert!(rows[0].contains("300 containers"), "{}", rows[0]);
        assert!(
            rows[1].contains(&first) && rows[1].contains("exited"),
            "{}",
            rows[1]
        );
        assert!(
            rows[2].contains(&second) && rows[2].contains("exited"),
            "{}",
            rows[2]
        );
        let x = rows[1].find("exited").unwrap();
        assert_eq!(
            buffer[(rows[1][..x].chars().count() as u16, 1)].fg,
            Color::Red
        );
        for (i, row) in rows[3..13].iter().enumerate() {
            let service = format!("svc{i:02}");
            assert!(row.contains(&service), "row {}: {row}", i + 3);
            match i {
                4 | 9 => assert!(
                    row.contains("running 29/30") && row.contains("exited 1"),
                    "{row}"
                ),
                _ => assert!(
                    row.contains("running 30/30") && !row.contains("exited"),
                    "{row}"
                ),
            }
        }
        // Nothing is left out: no "not shown" line, the rest is empty.
        assert!(rows.iter().all(|r| !r.contains("not shown")));
        assert!(
            rows[13].trim_matches(|c| c == '│' || c == ' ').is_empty(),
            "{}",
            rows[13]
        );
    }

    #[test]
    fn a_faulted_running_node_comes_before_the_exited_and_says_what_its_fault_is() {
        let nodes = nodes(300);
        let partitioned = nodes[250].clone();
        let mut app = app_with(nodes);
        perform(&mut app, &partitioned, NetworkAction::Partition.into());
        let mut changed = app.nodes.clone();
        changed[3].state = NodeState::Exited;
        app.on_event(Event::Cluster(ClusterEvent::NodesChanged(changed)));
        let (rows, _) = panel(&app, 100, 20);
        assert!(rows[1].contains(&partitioned.container), "{}", rows[1]);
        assert!(
            rows[1].contains("running") && rows[1].contains("partition"),
            "{}",
            rows[1]
        );
        assert!(rows[2].contains("exited"), "{}", rows[2]);
    }

    /// Forty faulted nodes in eight lines: the faulted fill the lines, the
    /// last says how many are left out, faults included; no service line
    /// (all healthy) is shown before a faulted node.
    #[test]
    fn when_even_the_faults_do_not_fit_the_last_line_counts_what_is_left() {
        let nodes = nodes(300);
        let mut app = app_with(nodes.clone());
        for node in nodes.iter().step_by(7).take(40) {
            perform(
                &mut app,
                node,
                ContainerAction::Kill {
                    signal: KillSignal::Kill,
                }
                .into(),
            );
        }
        let inner = 8;
        let lines = lines(&app, inner);
        assert_eq!(lines.len(), inner);
        assert!(
            lines[..inner - 1]
                .iter()
                .all(|l| matches!(l, PanelLine::Node { fault: Some(_), .. }))
        );
        assert_eq!(
            lines[inner - 1],
            PanelLine::NotShown {
                containers: 300 - 7,
                faulted: 40 - 7
            }
        );
        let (rows, buffer) = panel(&app, 80, inner as u16 + 2);
        let last = &rows[inner];
        assert!(
            last.contains("… 293 more containers not shown (33 with a fault)"),
            "{last}"
        );
        let x = last.find('…').unwrap();
        assert_eq!(
            buffer[(last[..x].chars().count() as u16, inner as u16)].fg,
            Color::Red
        );
    }

    #[test]
    fn services_that_do_not_fit_are_counted_in_the_last_line() {
        let mut nodes = nodes(300);
        nodes[0].state = NodeState::Paused;
        let app = app_with(nodes);
        let lines = lines(&app, 5);
        assert!(
            matches!(lines[0], PanelLine::Node { node, .. } if node.state == NodeState::Paused)
        );
        let services: Vec<&str> = lines
            .iter()
            .filter_map(|l| match l {
                PanelLine::Service(s) => Some(s.service),
                _ => None,
            })
            .collect();
        assert_eq!(services, ["svc00", "svc01", "svc02"]);
        // Seven services of thirty left out; the paused one is shown.
        assert_eq!(
            lines[4],
            PanelLine::NotShown {
                containers: 7 * 30,
                faulted: 0
            }
        );
    }

    /// A small cluster keeps one row per node in list order, as before.
    #[test]
    fn a_cluster_that_fits_keeps_one_row_per_node() {
        let mut nodes = nodes(3);
        nodes[1].state = NodeState::Exited;
        let app = app_with(nodes.clone());
        let (rows, _) = panel(&app, 80, 5);
        assert!(rows[0].contains(" Cluster ") && !rows[0].contains("containers"));
        for (row, node) in rows[1..4].iter().zip(&nodes) {
            assert!(row.contains(&node.container), "{row}");
            assert!(row.contains(state_name(node.state)), "{row}");
        }
        assert_eq!(height(&app, 40), 5);
        // Thirty fit in a 40-row side too; three hundred are grouped.
        assert_eq!(height(&app_with(self::nodes(30)), 40), 32);
        assert_eq!(height(&app_with(self::nodes(300)), 40), 12);
    }

    #[test]
    fn no_size_panics() {
        let mut nodes = nodes(300);
        nodes[5].state = NodeState::Dead;
        let app = app_with(nodes);
        for w in [1, 5, 20, 80] {
            for h in 0..25 {
                let mut terminal = Terminal::new(TestBackend::new(w, h.max(1))).unwrap();
                terminal
                    .draw(|frame| {
                        let area = Rect {
                            height: h,
                            ..frame.area()
                        };
                        render(&app, frame, area)
                    })
                    .unwrap();
            }
        }
    }
}
