/// Every porting mistake the diagnosis tries, in the order ties are reported: adding one is its file plus a line here.
public enum PortingVariants {
    public static let all: [any PortingVariant] = [
        KernelFlipped(), PaddingSymmetric(), AveragePoolCountsPadding(), FlattenOrder(), KernelTransposed(),
        KernelLayout(), NoBias(), ActivationMismatch(), InputChannelOrder(), InputScale(),
        SwappedBatchNormParameters.gammaBeta, SwappedBatchNormParameters.meanVariance, BatchStatistics(unbiased: true),
        BatchStatistics(unbiased: false),
    ]

    /// Every id, sorted.
    public static var ids: [String] { Array(Set(all.map(\.id))).sorted() }
}
