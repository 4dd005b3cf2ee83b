@file:Suppress("unused", "UNUSED_PARAMETER")
package android.view

open class View(context: android.content.Context)
