// @@FILE@@ on iOS with TensorFlowLiteSwift (CocoaPods: pod 'TensorFlowLiteSwift', pinned in ../Podfile). Generated
// by edgeseq pack from the file's own tensors. Inputs and outputs are fed and read BY INDEX, in the file's own order
// (not the order of the manifest's step contract): @@TENSORS@@
import EdgeseqCore
import Foundation
import TensorFlowLite

public final class @@CLASS@@: SequenceModel {
    private let modelPath: String
    private var interpreter: Interpreter

    public init(modelPath: String) throws {
        self.modelPath = modelPath
        interpreter = try @@CLASS@@.makeInterpreter(modelPath)
    }

    /// The model from the app's bundle (add App/Resources/@@FILE@@ to the app target).
    public static func fromBundle() throws -> @@CLASS@@ {
        guard let path = @@BUNDLE@@.path(forResource: "@@STEM@@", ofType: "@@EXT@@") else {
            throw NSError(domain: "edgeseq", code: 2, userInfo: [NSLocalizedDescriptionKey: "@@FILE@@ is not in the bundle"])
        }
        return try @@CLASS@@(modelPath: path)
    }

    private static func makeInterpreter(_ path: String) throws -> Interpreter {
        let interpreter = try Interpreter(modelPath: path)
@@RESIZE@@
        try interpreter.allocateTensors()
        return interpreter
    }

    /// The probabilities (one per label) for one sequence: [timesteps][features], normalised as the manifest says.
    public func classify(_ sequence: [[Float]]) throws -> [Float] {
@@CLASSIFY@@
    }
}

private func floatData(_ values: [Float]) -> Data {
    values.withUnsafeBufferPointer { Data(buffer: $0) }
}

private func quantized(_ values: [Float], scale: Float, zeroPoint: Int, unsigned: Bool = false) -> Data {
    let (lo, hi) = unsigned ? (0, 255) : (-128, 127)
    let q = values.map { min(hi, max(lo, Int(($0 / scale).rounded()) + zeroPoint)) }
    return unsigned ? Data(q.map { UInt8($0) }) : Data(q.map { UInt8(bitPattern: Int8($0)) })
}

private func floats(_ tensor: Tensor) -> [Float] {
    if let q = tensor.quantizationParameters, tensor.dataType != .float32 {
        let unsigned = tensor.dataType == .uInt8
        return tensor.data.map { byte in
            Float((unsigned ? Int(byte) : Int(Int8(bitPattern: byte))) - q.zeroPoint) * q.scale
        }
    }
    return tensor.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}
