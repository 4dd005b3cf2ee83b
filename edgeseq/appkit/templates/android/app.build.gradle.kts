// Versions pinned by edgeseq pack (edgeseq.appkit.projects.PINS).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "edgeseq.app"
    compileSdk = 35
    defaultConfig {
        applicationId = "edgeseq.app"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "1.0"
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    androidResources {
        noCompress += listOf("tflite", "onnx")    // models are mapped from the APK, not inflated
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
@@DEPENDENCIES@@
}
