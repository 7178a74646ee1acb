/**
 * Types for quadprog 1.6.1 (it ships none), from its lib/quadprog.js. Every array is 1-based
 * like the Fortran it was ported from: index 0 is unused. solveQP overwrites Dmat (with its
 * factor), dvec, Amat and bvec, so pass arrays built for the call.
 */
declare module 'quadprog' {
  export interface QuadprogResult {
    /** Absent when the arguments were rejected (only `message` is set then). */
    solution?: number[];
    Lagrangian?: number[];
    value?: number[];
    unconstrained_solution?: number[];
    /** [unused, iterations, constraints dropped after being active]. */
    iterations?: number[];
    iact?: number[];
    /** '' on success. */
    message: string;
  }

  /**
   * Minimises ½bᵀDb - dᵀb subject to Aᵀb ≥ b0, the first `meq` constraints as equalities.
   * Dmat is n × n, dvec n, Amat n × q (column k is constraint k), bvec q. `factorized[1] = 1`
   * would pass R⁻¹ (D = RᵀR) instead of D.
   */
  export function solveQP(Dmat: number[][], dvec: number[], Amat: number[][], bvec?: number[], meq?: number, factorized?: number[]): QuadprogResult;
}
