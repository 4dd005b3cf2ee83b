@file:Suppress("unused", "UNUSED_PARAMETER")
package android.app

open class Activity : android.content.Context() {
    override val assets: android.content.res.AssetManager get() = throw UnsupportedOperationException("stub")
    protected open fun onCreate(savedInstanceState: android.os.Bundle?) {}
    fun setContentView(view: android.view.View) {}
}
