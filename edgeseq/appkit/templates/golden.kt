
/** Your app's unit test: runs every golden vector (golden/vectors.json) and returns the failures (empty: pass).
 *  The rule: the class equals expected_class and, when check.max_abs_diff is not null, every probability is
 *  within it of the expected one. */
fun checkGolden(model: @@CLASS@@, vectorsJson: String): List<String> {
    val golden = JSONObject(vectorsJson)
    val check = golden.getJSONObject("check")
    val tolerance = if (check.isNull("max_abs_diff")) null else check.getDouble("max_abs_diff").toFloat()
    val vectors = golden.getJSONArray("vectors")
    val failures = mutableListOf<String>()
    for (n in 0 until vectors.length()) {
        val vector = vectors.getJSONObject(n)
        val rows = vector.getJSONArray("input")
        val sequence = Array(rows.length()) { t ->
            rows.getJSONArray(t).let { row -> FloatArray(row.length()) { f -> row.getDouble(f).toFloat() } }
        }
        val probabilities = model.classify(sequence)
        val expected = vector.getJSONArray("expected")
        val predicted = probabilities.indices.maxByOrNull { probabilities[it] }
        val diff = probabilities.indices.maxOf { abs(probabilities[it] - expected.getDouble(it).toFloat()) }
        if (predicted != vector.getInt("expected_class") || (tolerance != null && diff > tolerance)) {
            failures += "sample ${vector.getInt("sample")}: class $predicted (expected ${vector.getInt("expected_class")}), max diff $diff"
        }
    }
    return failures
}
