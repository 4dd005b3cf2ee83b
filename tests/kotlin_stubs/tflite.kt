@file:Suppress("unused", "UNUSED_PARAMETER")
package org.tensorflow.lite

class Interpreter(model: java.nio.ByteBuffer) : AutoCloseable {
    fun runSignature(inputs: Map<String, Any>, outputs: Map<String, Any>, signatureKey: String) {}
    fun runForMultipleInputsOutputs(inputs: Array<Any>, outputs: Map<Int, Any>) {}
    fun resetVariableTensors() {}
    override fun close() {}
}
