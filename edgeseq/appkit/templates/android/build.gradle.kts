// Versions pinned by edgeseq pack (edgeseq.appkit.projects.PINS).
plugins {
    id("com.android.application") version "@@AGP@@" apply false
    id("org.jetbrains.kotlin.android") version "@@KOTLIN@@" apply false
}
