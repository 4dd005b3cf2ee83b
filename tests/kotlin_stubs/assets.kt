// Stubs of the Android and runtime APIs the packed runner and MainActivity call, with the signatures their
// documentation gives (Android SDK 35; LiteRT 2.3.0's Interpreter and CompiledModel; ONNX Runtime's Java API).
// They let the tests type-check the generated Kotlin; they run nothing. Java getters (getAssets(), getText(),
// getFloatBuffer()) are Kotlin properties here, as Kotlin sees them on the real Java classes.
@file:Suppress("unused", "UNUSED_PARAMETER")
package android.content.res

class AssetManager {
    fun open(fileName: String): java.io.InputStream = throw UnsupportedOperationException("stub")
}
