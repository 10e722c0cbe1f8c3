//! A demo pack written by someone who means harm, or by someone careless.
//! Each chapter of the default build tries one thing the sandbox must stop and
//! reports what happened as the chapter's error, so the test can read, in the
//! transcript, that the sandbox held (and would read `LEAKED` if it did not).

#[cfg(not(any(
    feature = "api-v9",
    feature = "other-world",
    feature = "escapes",
    feature = "floods",
    feature = "blocking",
    feature = "probes",
    feature = "no-imports",
    feature = "lifting",
    feature = "describe-bomb",
    feature = "absurd-hypotheses",
)))]
mod flow;

#[cfg(feature = "lifting")]
mod lifting;

#[cfg(feature = "describe-bomb")]
mod describe_bomb;

#[cfg(feature = "absurd-hypotheses")]
mod absurd_hypotheses;

/// `info` with one chapter per `(title, action)`, each narrating
/// "`verb`: title": the shape every misbehaving pack here shares.
#[cfg(any(
    feature = "blocking",
    feature = "floods",
    feature = "lifting",
    not(any(
        feature = "api-v9",
        feature = "other-world",
        feature = "escapes",
        feature = "probes",
        feature = "no-imports",
        feature = "describe-bomb",
        feature = "absurd-hypotheses",
    ))
))]
fn one_chapter_each<F: guest_sdk::Flow>(
    mut info: guest_sdk::FlowInfo<F>,
    verb: &str,
    chapters: &[(&str, guest_sdk::Action<F>)],
) -> guest_sdk::FlowInfo<F> {
    for &(title, action) in chapters {
        info = info.chapter(
            guest_sdk::Chapter::new(title)
                .narration(&format!("{verb}: {title}"))
                .action(action),
        );
    }
    info
}

#[cfg(feature = "escapes")]
mod escapes;

#[cfg(feature = "floods")]
mod floods;

#[cfg(feature = "blocking")]
mod blocking;

#[cfg(feature = "probes")]
mod probes;

#[cfg(feature = "api-v9")]
mod future_api {
    wit_bindgen::generate!({
        inline: "
            package demo:flow@9.0.0;
            interface narration {
                set: func(markup: string);
            }
            world flow {
                import narration;
                export describe: func() -> string;
            }
        ",
    });

    struct Future;

    impl Guest for Future {
        fn describe() -> String {
            demo::flow::narration::set("from the future");
            "future".into()
        }
    }

    export!(Future);
}

#[cfg(feature = "other-world")]
mod other_world {
    wit_bindgen::generate!({
        inline: "
            package other:calc@1.0.0;
            world calc {
                export add: func(a: u32, b: u32) -> u32;
            }
        ",
    });

    struct Calc;

    impl Guest for Calc {
        fn add(a: u32, b: u32) -> u32 {
            a.wrapping_add(b)
        }
    }

    export!(Calc);
}

/// A flow that calls nothing of the API, so its component imports nothing
/// from demo:flow: the host must infer its version from its exports, not
/// claim it for its own.
#[cfg(feature = "no-imports")]
mod no_imports {
    wit_bindgen::generate!({
        inline: "
            package demo:flow@0.1.0;
            world flow {
                enum fault-action { kill, stop, restart, pause, network }
                record fault-grant { services: string, actions: list<fault-action> }
                record capabilities {
                    faults: list<fault-grant>,
                    reads-workload: bool,
                    http-probes: list<string>,
                }
                record chapter {
                    title: string,
                    narration: string,
                    key-hint: string,
                    auto-advance: bool,
                    blocks-advance: bool,
                }
                record flow-info {
                    name: string,
                    version: string,
                    description: string,
                    chapters: list<chapter>,
                    capabilities: capabilities,
                    default-workload: option<string>,
                }
                export describe: func() -> flow-info;
                export enter: func(index: u32) -> result<_, string>;
            }
        ",
    });

    struct Silent;

    impl Guest for Silent {
        fn describe() -> FlowInfo {
            FlowInfo {
                name: "silent".into(),
                version: "0.1.0".into(),
                description: "Calls nothing of the API".into(),
                chapters: vec![Chapter {
                    title: "Only".into(),
                    narration: "Nothing happens.".into(),
                    key_hint: String::new(),
                    auto_advance: false,
                    blocks_advance: false,
                }],
                capabilities: Capabilities {
                    faults: Vec::new(),
                    reads_workload: false,
                    http_probes: Vec::new(),
                },
                default_workload: None,
            }
        }

        fn enter(_index: u32) -> Result<(), String> {
            Ok(())
        }
    }

    export!(Silent);
}
