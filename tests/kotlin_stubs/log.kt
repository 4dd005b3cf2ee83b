@file:Suppress("unused", "UNUSED_PARAMETER")
package android.util

object Log {
    @JvmStatic fun i(tag: String, msg: String): Int = 0
}
