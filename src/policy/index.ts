// Public names of src/policy (filled in by its owner).
export {};
