
/// Your app's unit test: runs every golden vector (golden/vectors.json) and returns the failures (empty: pass).
/// The rule: the class equals expected_class and, when check.max_abs_diff is not null, every probability is
/// within it of the expected one.
func checkGolden(_ model: @@CLASS@@, vectorsJSON: Data) throws -> [String] {
    let golden = try JSONSerialization.jsonObject(with: vectorsJSON) as! [String: Any]
    let tolerance = (golden["check"] as! [String: Any])["max_abs_diff"] as? Double
    var failures: [String] = []
    for vector in golden["vectors"] as! [[String: Any]] {
        let sequence = (vector["input"] as! [[Double]]).map { $0.map { Float($0) } }
        let expected = (vector["expected"] as! [Double]).map { Float($0) }
        let probabilities = try model.classify(sequence)
        let predicted = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
        let diff = zip(probabilities, expected).map { abs($0 - $1) }.max() ?? 0
        let expectedClass = vector["expected_class"] as! Int
        if predicted != expectedClass || (tolerance != nil && Double(diff) > tolerance!) {
            failures.append("sample \(vector["sample"]!): class \(predicted) (expected \(expectedClass)), max diff \(diff)")
        }
    }
    return failures
}
