// Public names of src/server (filled in by its owner).
export {};
