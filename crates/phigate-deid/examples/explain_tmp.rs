fn main() {
    let d = phigate_deid::Detector::new();
    for t in std::env::args().skip(1) {
        for f in d.explain(&t) {
            println!("{f:?} {:?}", &t[f.span.start..f.span.end]);
        }
    }
}
