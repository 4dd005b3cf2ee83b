@file:Suppress("unused", "UNUSED_PARAMETER")
package android.widget

class TextView(context: android.content.Context) : android.view.View(context) {
    var text: CharSequence = ""
}
