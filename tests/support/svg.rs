//! Reading what `host report` drew: its figures, their attributes, the
//! shaded bands and the vertical marks, for the report's unit tests (host)
//! and its end-to-end tests alike.

/// The figure `id` of the page, from `<figure` to `</figure>`.
pub fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let from = html
        .find(&format!("<figure id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} figure"));
    let rest = &html[from..];
    &rest[..rest.find("</figure>").unwrap()]
}

/// The number in the first `NAME="…"` of `text` (a leading space in
/// `name`, `" x"`, keeps `x` from matching inside another name).
pub fn attr(text: &str, name: &str) -> f64 {
    let start = text
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name}"))
        + name.len()
        + 2;
    text[start..].split('"').next().unwrap().parse().unwrap()
}

/// `(x, width)` of each `<rect>` filled with `fill` (`#RRGGBB`): the
/// shaded bands of a figure's SVG.
pub fn bands(svg: &str, fill: &str) -> Vec<(f64, f64)> {
    let fill = format!("fill=\"{fill}\"");
    svg.split("<rect")
        .skip(1)
        .map(|r| &r[..r.find("/>").unwrap()])
        .filter(|r| r.contains(&fill))
        .map(|r| (attr(r, " x"), attr(r, " width")))
        .collect()
}

/// The x of each vertical line drawn in `colour` (`#RRGGBB`) in an SVG.
pub fn vertical_lines(svg: &str, colour: &str) -> Vec<f64> {
    svg.split("<polyline")
        .skip(1)
        .map(|p| &p[..p.find("/>").unwrap()])
        .filter(|p| p.contains(&format!("stroke=\"{colour}\"")))
        .filter_map(|p| {
            let points = p.split("points=\"").nth(1)?.split('"').next()?;
            let xs: Vec<f64> = points
                .split_whitespace()
                .map(|xy| xy.split(',').next().unwrap().parse().unwrap())
                .collect();
            (xs.len() == 2 && xs[0] == xs[1]).then_some(xs[0])
        })
        .collect()
}
