@file:Suppress("unused", "UNUSED_PARAMETER")
package android.content

abstract class Context {
    abstract val assets: android.content.res.AssetManager
}
