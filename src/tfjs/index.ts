// Public names of src/tfjs (filled in by its owner).
export {};
