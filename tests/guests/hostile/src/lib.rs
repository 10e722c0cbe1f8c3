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
)))]
mod flow;

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
