// Public names of src/protocol (filled in by its owner).
export {};
