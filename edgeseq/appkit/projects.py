"""The Android and iOS projects `edgeseq pack` writes: a Gradle module and a Swift package, with pinned versions.

    android/                           a Gradle project (open it in Android Studio, or `gradle :app:assembleDebug`)
      app/src/main/assets/             the file, golden vectors.json, labels.txt
      app/src/main/kotlin/edgeseq/app/ Preprocess.kt, Classifier.kt, Golden.kt   plain Kotlin: compiled and run on
                                                                                the JVM by edgeseq's tests
                                       <Name>Model.kt, MainActivity.kt          the runtime and the start (the
                                                                                golden self-test): Android only
    ios/Package.swift                  EdgeseqCore (Preprocess, Classifier, the golden self-test: Foundation only);
                                       for .onnx also EdgeseqModel (ONNX Runtime's Swift package) and its XCTest
    ios/Podfile, ios/App/              for .tflite: TensorFlowLiteSwift is on CocoaPods only

The runners, the iOS layout around them and the README's runtime lines are the file's format's (its app code,
formats.table.AppCode: code_tflite.py, code_onnx.py): ONNX Runtime for .onnx; LiteRT's CompiledModel for a .tflite
file with one float32 input and output and no variable tensors, its Interpreter otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from edgeseq import formats
from edgeseq.appkit import preprocess
from edgeseq.appkit.code import app_code, class_name, fill, template
from edgeseq.appkit.spec import AppSpec
from edgeseq.data.spec import DataSpec

KOTLIN_DIR = "android/app/src/main/kotlin/edgeseq/app"
ASSETS_DIR = "android/app/src/main/assets"
SWIFT_CORE_TARGET = '        .target(name: "EdgeseqCore", path: "Sources/EdgeseqCore"),'    # in every Package.swift


@dataclass(frozen=True)
class Pin:
    """One dependency the projects pin: its coordinate and version (none of them resolved here: the registries
    reached are PyPI, Debian and npm; Google's Maven, Maven Central, CocoaPods and GitHub are not)."""
    what: str
    coordinate: str
    version: str


PINS = {
    "agp": Pin("Android Gradle plugin", "com.android.application", "8.7.3"),
    "gradle": Pin("Gradle (the wrapper's distribution)", "gradle", "8.11.1"),
    # the Kotlin the tests compile the plain-Kotlin sources with (kotlin-jupyter-kernel's embedded compiler)
    "kotlin": Pin("Kotlin", "org.jetbrains.kotlin.android", "2.3.10"),
    "json": Pin("kotlinx.serialization JSON (reads golden/vectors.json)",
                "org.jetbrains.kotlinx:kotlinx-serialization-json", "1.9.0"),
    # the LiteRT release edgeseq's Python side runs (ai-edge-litert 2.3.0)
    "litert": Pin("LiteRT (CompiledModel and the Interpreter API)", "com.google.ai.edge.litert:litert", "2.3.0"),
    "onnxruntime-android": Pin("ONNX Runtime for Android", "com.microsoft.onnxruntime:onnxruntime-android", "1.24.2"),
    "onnxruntime-swift": Pin("ONNX Runtime's Swift package",
                             "https://github.com/microsoft/onnxruntime-swift-package-manager", "1.20.0"),
    "tflite-swift": Pin("TensorFlowLiteSwift (CocoaPods)", "TensorFlowLiteSwift", "2.17.0"),
}


def android_runtime_pin(spec: AppSpec) -> Pin:
    return PINS[formats.by_name(spec.format).adapter().APP.android_pin]


def pins_for(spec: AppSpec) -> list[Pin]:
    """The pins a file's projects use, for the README."""
    ios = PINS[formats.by_name(spec.format).adapter().APP.ios_pin]
    return [PINS["agp"], PINS["gradle"], PINS["kotlin"], PINS["json"], android_runtime_pin(spec), ios]


def android(spec: AppSpec, contract: DataSpec, assets: dict[str, bytes], runner: bool) -> dict[str, str | bytes]:
    """android/: the plain-Kotlin core always; with `runner`, the Gradle project around it (assets: name -> bytes)."""
    files: dict[str, str | bytes] = {
        f"{KOTLIN_DIR}/Preprocess.kt": preprocess.kotlin(contract),
        f"{KOTLIN_DIR}/Classifier.kt": template("android/Classifier.kt"),
        f"{KOTLIN_DIR}/Golden.kt": template("android/Golden.kt"),
    }
    if not runner:
        return files
    name = class_name(spec.file)
    dependencies = "\n".join(f'    implementation("{p.coordinate}:{p.version}")   // {p.what}'
                             for p in (android_runtime_pin(spec), PINS["json"]))
    files.update({
        "android/settings.gradle.kts": fill(template("android/settings.gradle.kts"),
                                            PROJECT=name.removesuffix("Model") + "App"),
        "android/build.gradle.kts": fill(template("android/build.gradle.kts"), AGP=PINS["agp"].version,
                                         KOTLIN=PINS["kotlin"].version),
        "android/gradle.properties": template("android/gradle.properties"),
        "android/gradle/wrapper/gradle-wrapper.properties":
            "distributionUrl=https\\://services.gradle.org/distributions/"
            f"gradle-{PINS['gradle'].version}-bin.zip\n",
        "android/app/build.gradle.kts": fill(template("android/app.build.gradle.kts"), DEPENDENCIES=dependencies),
        "android/app/src/main/AndroidManifest.xml": fill(template("android/AndroidManifest.xml"), FILE=spec.file),
        f"{KOTLIN_DIR}/{name}.kt": app_code(spec).kotlin(spec),
        f"{KOTLIN_DIR}/MainActivity.kt": fill(template("android/MainActivity.kt"), FILE=spec.file,
                                              OPEN=f"{name}.fromAssets(this)"),
        **{f"{ASSETS_DIR}/{asset}": body for asset, body in assets.items()},
    })
    return files


@dataclass(frozen=True)
class IosProject:
    """Where a format's iOS runner goes in ios/ and what the format adds around it (formats.table.AppCode)."""
    folder: str                                 # the runner, its self-test and the file's resources
    bundle: str                                 # where fromBundle() finds the file: Bundle.main or Bundle.module
    files: tuple[tuple[str, str], ...]          # what the format adds to ios/ or writes instead (ios/Package.swift)
    readme: str                                 # the README's iOS paragraph


def _package_swift() -> str:
    """EdgeseqCore's package alone (a format's runner may bring its own Package.swift: IosProject.files)."""
    return "\n".join([
        "// swift-tools-version:5.9",
        "// EdgeseqCore: Preprocess, Classifier and the golden self-test (Foundation only). The model's runner is",
        "// in App/ with the Podfile: TensorFlowLiteSwift is published on CocoaPods only. Generated by edgeseq pack.",
        "import PackageDescription", "", "let package = Package(", '    name: "EdgeseqCore",',
        "    platforms: [.iOS(.v15), .macOS(.v13)],",
        '    products: [.library(name: "EdgeseqCore", targets: ["EdgeseqCore"])],',
        "    targets: [", SWIFT_CORE_TARGET, "    ]", ")", ""])


def _self_test(spec: AppSpec, bundle: str) -> str:
    return "\n".join([
        "// The golden self-test at start, generated by edgeseq pack: call it when the app starts (and in a test).",
        "import EdgeseqCore", "import Foundation", "",
        "/// Runs every golden vector through the bundled model: one line per failure (empty: pass).",
        "public func selfTest() throws -> [String] {",
        f"    let model = try {class_name(spec.file)}.fromBundle()",
        f'    guard let url = {bundle}.url(forResource: "vectors", withExtension: "json") else {{',
        '        return ["vectors.json is not in the bundle"]', "    }",
        "    return try checkGolden(model, try GoldenVectors.parse(try Data(contentsOf: url)))", "}", ""])


def ios(spec: AppSpec, contract: DataSpec, assets: dict[str, bytes], runner: bool) -> dict[str, str | bytes]:
    """ios/: EdgeseqCore always; with `runner`, the model's runner, resources and self-test where its format puts
    them (IosProject: a package target for .onnx, an app folder and a Podfile for .tflite)."""
    files: dict[str, str | bytes] = {
        "ios/Package.swift": _package_swift(),
        "ios/Sources/EdgeseqCore/Preprocess.swift": preprocess.swift(contract),
        "ios/Sources/EdgeseqCore/Classifier.swift": template("ios/Classifier.swift"),
        "ios/Sources/EdgeseqCore/Golden.swift": template("ios/Golden.swift"),
    }
    if not runner:
        return files
    name = class_name(spec.file)
    app = app_code(spec)
    project = app.ios_project(spec)
    files.update(project.files)
    files[f"{project.folder}/{name}.swift"] = app.swift(spec, project.bundle)
    files[f"{project.folder}/SelfTest.swift"] = _self_test(spec, project.bundle)
    files.update({f"{project.folder}/Resources/{asset}": body for asset, body in assets.items()})
    return files


def readme_lines(spec: AppSpec, runner: bool) -> list[str]:
    """The pack README's Android and iOS sections."""
    name = class_name(spec.file)
    if not runner:
        return ["## On Android and iOS", "",
                "`android/app/src/main/kotlin/edgeseq/app/` and `ios/Sources/EdgeseqCore/` hold `Preprocess`,"
                " `Classifier` and the golden check only: no runner was generated for this file (see the notes).", ""]
    app = app_code(spec)
    android_runtime, ios = app.android_runtime(spec), app.ios_project(spec).readme
    pins = "; ".join(f"{p.what} `{p.coordinate}` {p.version}" for p in pins_for(spec))
    return ["## On Android", "",
            f"`android/` is a Gradle project (one `app` module): `{name}.kt` runs the file with {android_runtime},"
            " the model is in `app/src/main/assets/`, and `MainActivity` runs the golden self-test at start and"
            " shows how many vectors pass. Open the folder in Android Studio (it reads the pinned Gradle version from"
            " `gradle/wrapper/gradle-wrapper.properties`), or `gradle wrapper && ./gradlew :app:assembleDebug`."
            " Your code: `Classifier(model, labels).classify(sequence)` (model-ready) or `.classifyRaw(rows)` (raw"
            " rows through `Preprocess`) gives the label, its index, its score and every probability.", "",
            "`Preprocess.kt`, `Classifier.kt` and `Golden.kt` are plain Kotlin: edgeseq's tests compile them with"
            " Kotlin 2.3 and run them on a JVM (`prepare` equals edgeseq's Python exactly on 100 raw inputs; the"
            " golden check fails a model off by more than the tolerance). The runner and `MainActivity` need"
            " Android's SDK and the runtime's AAR, which were not reachable where edgeseq is built: there they are"
            " compiled against stubs of the APIs they call (the documented signatures), not the real libraries.",
            "",
            "## On iOS", "", ios + " The Swift was not compiled where edgeseq is built (no Swift toolchain there).", "",
            f"Pinned versions: {pins}. Not one of them was resolved where edgeseq is built (Google's Maven, Maven Central,"
            " CocoaPods and GitHub are out of its reach): a build that cannot resolve one names it.", ""]
