@file:Suppress("unused", "UNUSED_PARAMETER")
package com.google.ai.edge.litert

enum class Accelerator { NONE, CPU, GPU, NPU }

class TensorBuffer : AutoCloseable {
    fun writeFloat(data: FloatArray) {}
    fun readFloat(): FloatArray = FloatArray(0)
    override fun close() {}
}

class CompiledModel private constructor() : AutoCloseable {
    class Options(vararg accelerators: Accelerator)

    fun createInputBuffers(): List<TensorBuffer> = emptyList()
    fun createOutputBuffers(): List<TensorBuffer> = emptyList()
    fun run(inputs: List<TensorBuffer>, outputs: List<TensorBuffer>) {}
    override fun close() {}

    companion object {
        fun create(assetManager: android.content.res.AssetManager, assetName: String, options: Options): CompiledModel =
            CompiledModel()
    }
}
